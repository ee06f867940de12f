"""The registry of model classes: what a model declares it can do, and every list of models the
package uses (the CLI kinds, the warm-up, block and dask fits, :func:`~fastdgm.models.base.load`,
the conformance suite) derived from it."""
from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["MODEL_CLASSES", "MODEL_MODULES", "CAPABILITIES", "register_model", "unregister_model", "registered_models", "registered_class", "model_kinds"]

MODEL_CLASSES = {"Categorical": "categorical", "Factorized": "factorized", "Mixture": "mixture",
                 "ChowLiuTree": "tree", "PairwiseMRF": "mrf", "TreeMixture": "treemix",
                 "HiddenChowLiuTree": "hclt", "BayesianNetwork": "bayesnet",
                 "HCLTMixture": "hclt_mixture"}
"""The package's model classes and the module (in ``fastdgm/models/``) of each: the one list a new
model joins. ``fastdgm.NAME`` and ``fastdgm.models.NAME`` are served lazily from it."""
MODEL_MODULES = tuple(dict.fromkeys(MODEL_CLASSES.values()))
"""Modules that define (and register) model classes; :func:`load` imports them all."""

CAPABILITIES = {
    "exact_log_prob": "log_prob is the exact log-likelihood (no unknown normaliser)",
    "exact_sampler": "sample/sample_rows draw exactly from the model (no Markov chain)",
    "missing": "log_prob(X, missing=) is the exact marginal and fill draws the exact conditional",
    "exact_entropy": "entropy() is exact",
    "statistics": "fits from additive per-block statistics (one pass, or one pass per EM iteration): "
                  "block fits and dask fits",
    "em": "fitted by the EM engine (fastdgm.models.em), objective_history_ after a fit",
}
"""What a model can declare in :attr:`Model.capabilities`, and what each promises."""

_MODELS: dict[str, Any] = {}
M = TypeVar("M", bound=Any)


def register_model(cls: M) -> M:
    """Class decorator: make ``cls`` known to :func:`load`, the CLI, the warm-up, block and dask
    fits and the conformance suite, under its class name.

    The declared :attr:`Model.capabilities` are checked against :data:`CAPABILITIES`.
    """
    unknown = set(cls.capabilities) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"{cls.__name__} declares unknown capabilities {sorted(unknown)}; "
                         f"known: {sorted(CAPABILITIES)}")
    kinds = {c.kind: n for n, c in _MODELS.items() if c.kind is not None and n != cls.__name__}
    if cls.kind is not None and cls.kind in kinds:
        raise ValueError(f"{cls.__name__}.kind = {cls.kind!r} is already the kind of {kinds[cls.kind]}")
    _MODELS[cls.__name__] = cls
    return cls


def unregister_model(name: str) -> None:
    """Forget the model class registered as ``name`` (tests that register a toy model)."""
    _MODELS.pop(name, None)


def registered_models(capability: str | None = None) -> dict[str, Any]:
    """Every registered model class, by class name (imports the package's models first).

    Parameters
    ----------
    capability : str, optional
        Only the classes that declare it (one of :data:`CAPABILITIES`).

    Returns
    -------
    dict
        Class name -> class, in registration order.
    """
    _import_models()
    if capability is not None and capability not in CAPABILITIES:
        raise ValueError(f"capability must be one of {sorted(CAPABILITIES)}, got {capability!r}")
    return {n: c for n, c in _MODELS.items() if capability is None or capability in c.capabilities}


def registered_class(name: str) -> Any:
    """The class registered as ``name``, or None if its module has not been imported yet.

    Imports nothing: an instance of a model class exists only once its module ran, so
    ``isinstance(obj, registered_class(name) or ())`` checks a type without importing it (how
    :func:`fastdgm.gibbs` checks for a PairwiseMRF, whose ``sample`` calls ``gibbs``).
    """
    return _MODELS.get(name)


def model_kinds() -> dict[str, Any]:
    """The fittable classes by their CLI kind (``fastdgm fit KIND``), from the registry."""
    return {c.kind: c for c in registered_models().values() if c.kind is not None}


def _import_models() -> None:
    import importlib

    for mod in MODEL_MODULES:
        importlib.import_module(f"{__package__}.{mod}")
