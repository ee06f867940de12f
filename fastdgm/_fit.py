"""One model kind fitted by name, with a progress bar for every kind (``fastdgm fit``)."""
from __future__ import annotations

from ._io import CLIError

__all__ = ["fit_model", "model_class", "FIT_CLASSES", "BLOCK_KINDS", "block_kinds", "block_fit_options"]

FIT_CLASSES = {"factorized": "Factorized", "mixture": "Mixture", "chowliu": "ChowLiuTree",
               "treemix": "TreeMixture", "hclt": "HiddenChowLiuTree"}
"""Model kinds of ``fastdgm fit`` fitted by ``Class.fit`` (selectable with ``--valid``)."""


def block_kinds() -> tuple[str, ...]:
    """Kinds that fit block by block from a memory-mapped file (``--block-rows``): those of the
    registered models with the ``"statistics"`` capability."""
    from .models.base import registered_models

    return tuple(c.kind for c in registered_models("statistics").values() if c.kind is not None)


def block_fit_options(cls, **candidates) -> dict:
    """The CLI options (``n_components=``, ``n_hidden=``, ``alpha=``, ``rng=``...) that ``cls.fit``
    takes as keywords, for a block fit of ``cls``."""
    from .models.em import fit_keywords

    accepted = fit_keywords(cls)
    return {k: v for k, v in candidates.items() if k in accepted and k not in ("sample_weight", "dedupe")}


def __getattr__(name: str):
    if name == "BLOCK_KINDS":           # derived from the registry on use
        return block_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_class(kind: str):
    """The model class of a ``fastdgm fit`` kind (one of :data:`FIT_CLASSES`)."""
    import fastdgm

    return getattr(fastdgm, FIT_CLASSES[kind])


def fit_model(kind: str, X, *, n_states=None, alpha=1.0, n_components=10, seed=None, grid=None,
              l2=None, progress=False, edges=None, periodic=True, pairwise="full", n_hidden=16):
    """Fit one model kind on X (shared by ``fit`` and ``demo``).

    Parameters
    ----------
    kind : {"factorized", "mixture", "chowliu", "treemix", "hclt", "mrf"}
        The model family.
    X : ndarray of int, shape (n, d)
        Training data.
    n_states : int, optional
        C (default: ``X.max() + 1``).
    alpha : float
        Additive smoothing (factorized, chowliu).
    n_components : int
        Mixture components K (mixture, treemix).
    seed : int, optional
        Seed of the mixture's initialisation.
    grid : tuple of int, optional
        Lattice of the d sites (mrf).
    l2 : float, optional
        L2 penalty of the pseudo-likelihood fit (mrf).
    progress : bool
        Show a progress bar of the fit on stderr (every kind).
    edges : ndarray of int, shape (m, 2), optional
        Site pairs of a general graph (mrf).
    periodic : bool
        Periodic lattice boundaries (mrf with ``grid``).
    pairwise : {"full", "shared", "potts"}
        Coupling tables of the mrf.
    n_hidden : int
        Hidden states K of the hclt.

    Returns
    -------
    Model
        The fitted model.
    """
    if kind == "mixture":
        from .models import Mixture

        return Mixture.fit(X, n_components=n_components, n_states=n_states, rng=seed, progress=progress)
    if kind == "treemix":
        from .models import TreeMixture

        return TreeMixture.fit(X, n_components=n_components, n_states=n_states, alpha=alpha, rng=seed,
                               progress=progress)
    if kind == "hclt":
        from .models import HiddenChowLiuTree

        return HiddenChowLiuTree.fit(X, n_hidden=n_hidden, n_states=n_states, alpha=alpha, rng=seed,
                                     progress=progress)
    if kind == "mrf":
        from .models.mrf import PairwiseMRF

        if (grid is None) == (edges is None):
            raise CLIError("fit mrf needs --grid HxW (a lattice over the d columns) or --edges FILE "
                           "((m, 2) site pairs)")
        kw = {"pairwise": pairwise, "progress": progress}
        if l2 is not None:
            kw["l2"] = l2
        if grid is not None:
            return PairwiseMRF.fit(X, grid, n_states=n_states, method="pll", periodic=periodic, **kw)
        return PairwiseMRF.fit(X, edges, n_states=n_states, method="pll", **kw)
    if kind in ("factorized", "chowliu"):       # one pass over the data: a one-step bar
        from ._progress import Progress
        from .models import ChowLiuTree, Factorized

        cls = Factorized if kind == "factorized" else ChowLiuTree
        with Progress(1, unit="fit", enabled=progress, desc=f"fit {cls.__name__}") as bar:
            model = cls.fit(X, n_states=n_states, alpha=alpha)
            bar.update(1)
        return model
    raise CLIError(f"unknown model kind {kind!r}")  # pragma: no cover - argparse checks
