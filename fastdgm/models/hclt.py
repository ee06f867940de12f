"""The hidden Chow-Liu tree (HCLT; Liu & Van den Broeck, NeurIPS 2021).

A latent variable Z_j with K states sits behind every observed X_j, and the latents are
joined in the Chow-Liu tree of X:

    P(x) = sum_z P(z_root) prod_{j != root} P(z_j | z_parent(j)) prod_j P(x_j | z_j).

The sum over the K^d latent states is computed exactly by one upward message pass,
O(d K^2) per row (see :mod:`fastdgm.kernels.hclt`); the same pass with the emissions of
missing entries set to 1 gives exact marginals, and a downward pass gives exact posteriors
(EM) and exact conditional draws (:meth:`HiddenChowLiuTree.fill`).
"""
from __future__ import annotations

import warnings

import numpy as np

from .._rng import make_key, substream_ref
from .._validation import (
    as_float_array,
    check_alpha,
    check_parent,
    check_positive_int,
    check_prob_table,
    check_sample_weight,
    check_scalar,
    smallest_uint,
)
from ..kernels import hclt as _h
from ..kernels import hclt_gemm as _hg
from ._missing import check_missing, fill_result
from . import em
from ._tables import distinct_rows, levels, normalise_rows
from ._trees import tree_order
from .base import classonlymethod, fit_data, register_model
from ._hclt_passes import em_statistics, estep_bytes, upward
from ._hclt_init import initial_tables
from ._hclt_regularise import GRID_WORK, check_soften, hidden_grid, soft_emit_counts, softened
from .em import EMModel
from .tree import ChowLiuTree

__all__ = ["HiddenChowLiuTree", "hidden_grid"]

INIT_STAY = 0.9
"""Mixture initialisation: P(Z_j = Z_parent(j)) = INIT_STAY + (1 - INIT_STAY) / K."""


@register_model
class HiddenChowLiuTree(EMModel):
    """Hidden Chow-Liu tree: a K-state latent behind each variable, latents in a tree.

    P(x) = sum_z root_probs[z_r] prod_{j != r} trans_probs[j, z_pa(j), z_j]
    prod_j emit_probs[j, z_j, x_j], with r the root of ``parent``.

    Parameters
    ----------
    parent : array_like of int, shape (d,)
        parent[j] is the parent of latent j, -1 for the single root.
    root_probs : array_like of float, shape (K,)
        P(Z_root = k).
    trans_probs : array_like of float, shape (d, K, K)
        trans_probs[j, u, v] = P(Z_j = v | Z_parent(j) = u). The root's table is not used
        (it must still be a valid table).
    emit_probs : array_like of float, shape (d, K, C)
        emit_probs[j, k, x] = P(X_j = x | Z_j = k).

    Notes
    -----
    Every table must be finite, non-negative and sum to 1 over its last axis within 1e-6
    (it is then renormalised exactly); ``parent`` must be a tree. Violations raise
    ``ValueError`` naming the argument (model files go through the same checks).

    Attributes
    ----------
    parent, order : ndarray int64 (d,)
        The tree and its breadth-first order (root first).
    root : int
    objective_history_ : list of float
        Set by :meth:`fit`: the MAP objective per unit of sample weight at each EM
        iteration, (sum_i w_i log P(x_i) + alpha * sum of the logs of every table entry
        of the parameters that produced it) / sum_i w_i. Never decreases.
    log_likelihood_history_ : list of float
        Mean (weighted) training log-likelihood at each iteration.
    n_iter_ : int
    converged_ : bool
    objective_, log_likelihood_
        Deprecated aliases (0.1 names) of ``objective_history_`` and
        ``log_likelihood_history_``; reading them warns (FutureWarning).
    """

    kind = "hclt"
    state_table = ("emit_probs", 0)
    fit_legacy_args = ("n_hidden", "n_states", "alpha", "rng", "max_iter", "tol", "progress",
                        "sample_weight", "init", "init_noise", "dedupe")
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics", "em"})
    example_params = {"n_hidden": 2, "rng": 0, "max_iter": 3}

    @classmethod
    def density_grid(cls, n: int, d: int):
        return ({"n_hidden": hidden_grid(n, d, work=GRID_WORK)},    # K grows: no fit past the valid peak
                {"alpha": 0.02, "rng": 0, "max_iter": 80, "stop_on_decline": True})

    def __init__(self, parent, root_probs, trans_probs, emit_probs):
        parent = check_parent(parent)
        order = tree_order(parent)
        d = parent.shape[0]
        rp = as_float_array(root_probs, "root_probs", ndim=1)
        K = rp.shape[0]
        ep = as_float_array(emit_probs, "emit_probs", ndim=3)
        if ep.shape[:2] != (d, K):
            raise ValueError(f"emit_probs must have shape (d, K, C) = ({d}, {K}, C) to match "
                             f"parent and root_probs, got {ep.shape}")
        C = ep.shape[2]
        self._set(parent, order,
                  check_prob_table(rp, "root_probs", (K,), "(K,)"),
                  check_prob_table(trans_probs, "trans_probs", (d, K, K), "(d, K, K)"),
                  check_prob_table(ep, "emit_probs", (d, K, C), "(d, K, C)"))

    def _set(self, parent, order, root_probs, trans_probs, emit_probs):
        self.parent = parent
        self.order = order
        self.root = int(order[0])
        self.root_probs = root_probs
        self.trans_probs = trans_probs
        self.emit_probs = emit_probs
        self._Tt = np.ascontiguousarray(trans_probs.transpose(0, 2, 1))
        self._E = np.ascontiguousarray(emit_probs.transpose(0, 2, 1))   # (d, C, K)
        self._levels = None

    @classmethod
    def _trusted(cls, parent, root_probs, trans_probs, emit_probs):
        """From parameters produced by :meth:`fit` (already exact tables)."""
        self = cls.__new__(cls)
        self._set(parent, tree_order(parent), np.ascontiguousarray(root_probs),
                  np.ascontiguousarray(trans_probs), np.ascontiguousarray(emit_probs))
        return self

    # --- shape ---------------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        return self.emit_probs.shape[0]

    @property
    def n_states(self) -> int:
        return self.emit_probs.shape[2]

    @property
    def n_hidden(self) -> int:
        """K, the number of states of each hidden variable."""
        return self.root_probs.shape[0]

    def _block(self) -> int:
        return _h.block_rows(self.n_dims, self.n_hidden)

    # --- likelihood ----------------------------------------------------------------------
    def _log_prob(self, X) -> np.ndarray:
        """Exact log P(x) of each row, shape (n,), float64 (one upward pass per row)."""
        return self._upward(X, None)

    def _log_prob_missing(self, X, missing) -> np.ndarray:
        """The same upward pass with the emissions of missing entries set to 1: the exact
        marginal likelihood of the observed entries of each row."""
        return self._upward(X, missing)

    def _upward(self, X, missing) -> np.ndarray:
        return upward(self, X, missing)

    def _all_levels(self):
        if self._levels is None:
            with np.errstate(divide="ignore"):
                self._levels = (levels(np.log(self.root_probs)), levels(np.log(self.trans_probs)),
                                levels(np.log(self.emit_probs)))
        return self._levels

    def sample_rows(self, key, start: int, n: int) -> np.ndarray:
        """Rows ``[start, start + n)`` of the sample of ``key`` (ancestral sampling), (n, d),
        smallest unsigned dtype holding C.

        Z_root, then each Z_j given its parent's draw, then X_j given Z_j, each by
        cumulative-level thresholding of a counter-based uniform (Z_ij:
        ``uniform(substream(key, 0), i*d + j)``, X_ij: ``uniform(key, i*d + j)``), so the
        draws do not depend on the number of threads nor on how rows are split in blocks.

        Parameters
        ----------
        key : int or numpy.uint64
            The sample's 64-bit key (``make_key(rng)``).
        start : int
            Index of the first row in the whole sample.
        n : int
            Number of rows.

        Returns
        -------
        ndarray, shape (n, d), smallest unsigned dtype holding C
        """
        plev, tlev, elev = self._all_levels()
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _h.sample(out.size * 4, self.order, self.parent, plev, tlev, elev, np.uint64(key), int(start), out)
        return out

    def _fill(self, X, missing, rng=None) -> np.ndarray:
        """Upward pass with the missing emissions set to 1, then the latents are drawn down the
        tree from P(z_c | z_parent, observed) and each missing X_j from P(X_j | z_j)."""
        X, M, arr = check_missing(X, missing, self.n_states, self.n_dims)
        miss = M.view(np.uint8)
        key = make_key(rng)
        _, _, elev = self._all_levels()
        out = X.copy()
        ll = np.empty(X.shape[0])
        _h.fill(X.size * self.n_hidden ** 2, X, miss, self.order, self.parent, self.root_probs,
                self.trans_probs, self._Tt, self._E, elev, self._block(), key, out, ll)
        bad = np.flatnonzero(ll == -np.inf)
        if bad.size:
            raise ValueError(f"X: the observed entries of row {bad[0]} have probability zero "
                             f"under the model; nothing to condition on")
        return fill_result(arr, M, out, self.n_states)

    def entropy(self) -> float:
        """Not available in closed form: raises NotImplementedError.

        The entropy of a latent-tree model has no exact polynomial form here (the log of a
        sum over the latents does not factorise); use :meth:`entropy_estimate`."""
        raise NotImplementedError(
            "HiddenChowLiuTree has no exact entropy (the log of a sum over the latents does not "
            "factorise); use HiddenChowLiuTree.entropy_estimate(n, rng=...) for a Monte-Carlo "
            "estimate with a standard error")

    # --- EM ------------------------------------------------------------------------------
    def _em_statistics(self, block, w) -> dict:
        """E-step statistics of ``block`` = (X, precision, soften) (:meth:`_em_prepare`) or X
        (:func:`._hclt_passes.em_statistics`), on the softened emissions when soften > 0."""
        X, precision, soften = block if isinstance(block, tuple) else (block, "auto", 0.0)
        return em_statistics(softened(self, soften) if soften else self, X, w, precision)

    def _em_update(self, stats: dict, alpha: float) -> "HiddenChowLiuTree":
        """New exact tables from the summed E-step statistics, with pseudo-counts ``alpha``
        (the tree is kept); with data softening, of the true states' counts (soft_emit_counts)."""
        pair, emit = stats["pair"], np.ascontiguousarray(stats["emit"].transpose(0, 2, 1))   # emit (d, K, C)
        emit = soft_emit_counts(self.emit_probs, emit, getattr(self, "_soften", 0.0))
        rc = emit[self.root].sum(axis=1)                                    # (K,)
        root_probs = normalise_rows(rc + alpha)
        trans = normalise_rows(pair + alpha)
        trans[self.root] = 1.0 / self.n_hidden
        emit_probs = normalise_rows(emit + alpha)
        out = type(self)._trusted(self.parent, root_probs, trans, emit_probs)
        out._soften = getattr(self, "_soften", 0.0)
        return out

    def _log_prior(self, alpha) -> float:
        if alpha == 0:
            return 0.0
        ch = self.order[1:]
        with np.errstate(divide="ignore"):
            return alpha * float(np.log(self.root_probs).sum() + np.log(self.trans_probs[ch]).sum()
                                 + np.log(self.emit_probs).sum())

    def em_step(self, X, alpha: float = 1.0, sample_weight=None) -> tuple["HiddenChowLiuTree", float]:
        """One EM iteration from this model: E-step statistics, then the MAP M-step.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        alpha : float >= 0
        sample_weight : array_like of float, shape (n,), optional

        Returns
        -------
        (HiddenChowLiuTree, float)
            The new model and the mean (weighted) log-likelihood of X under ``self``.
        """
        alpha = check_alpha(alpha)
        stats = self.em_statistics(X, sample_weight, context={"soften": getattr(self, "_soften", 0.0)})
        return self._em_update(stats, alpha), float(stats["loglik"]) / float(stats["total"])

    @classonlymethod
    def fit(cls, X, n_states: int | None = None, *, n_hidden: int = 16, alpha: float = 0.1, rng=None,
            max_iter: int = em.MAX_ITER, tol: float = em.TOL, progress: bool = False, sample_weight=None,
            init: str = "mixture", init_noise: float = 3.0, dedupe: bool = True, n_init: int = 1,
            soften: float = 0.0, precision: str = "auto", batch_size: int | None = None,
            kappa: float = em.KAPPA) -> "HiddenChowLiuTree":
        """Fit by MAP-EM on the Chow-Liu tree of X.

        1. Structure: the Chow-Liu tree of X (:meth:`fastdgm.ChowLiuTree.fit`), rooted at 0
           (for binary X with d >= 64, the same mutual informations from one BLAS product
           X^T diag(w) X; equal up to rounding, which can only matter between exact ties).
        2. Initialisation (seeded by ``rng``), ``init``:

           - ``"mixture"`` (default): the HCLT that is (up to the stickiness below) the
             K-component mixture of factorized models fitted by :meth:`fastdgm.Mixture.fit`
             (same ``alpha``, ``sample_weight`` and seed, the engine's default ``max_iter``
             and ``tol``): root_probs = the mixture weights,
             emit_probs[j, k] = component k's table of X_j, and every latent copies its
             parent's state with probability ``INIT_STAY`` = 0.9 (else uniform). An HCLT
             whose transitions are the identity *is* that mixture, so EM starts where the
             mixture ended and can only improve on its MAP objective; it then learns the tree
             dependence between the latents. On the six shared density sets this start gave
             0.02-1.1 nats per sample better test log-likelihood than the random start at the
             same K (kdd -2.124 vs -2.165, msweb -9.75 vs -9.92, plants -12.65 vs -13.52).
             The mixture's random initial responsibilities are drawn per (distinct) row, so
             this seeded start depends on how the rows are laid out (weights or repeats).
           - ``"random"``: root_probs uniform; every row of trans_probs ~ Dirichlet(1);
             emit_probs[j, k] the empirical marginal of X_j (smoothed by ``alpha``) times
             exp(``init_noise`` * N(0, 1)) per entry, renormalised.
        3. EM: the E-step computes the expected counts of (Z_parent(j), Z_j) pairs and of
           (Z_j, X_j) by an upward and a downward pass per row; the M-step adds ``alpha`` to
           every count (Dirichlet pseudo-counts) and normalises. ``objective_history_``
           records the MAP objective (see the class docstring), which EM never decreases.
           ``soften`` = s > 0: data softening (Liu & Van den Broeck, NeurIPS 2021; see
           :mod:`._hclt_regularise`); the histories are then the softened data's.

        The loop, the stop rule and the trace are those of the one EM engine
        (:mod:`fastdgm.models.em`): stops after ``max_iter`` E-steps, or after iteration
        t > 0 when the objective per unit weight improved by at most
        ``tol * |objective_{t-1}|``; ``converged_`` says which. The returned model is the one
        evaluated last: ``objective_history_[-1]`` and ``log_likelihood_history_[-1]`` are its
        own MAP objective and training log-likelihood (so ``max_iter`` E-steps mean
        ``max_iter - 1`` M-steps). Every step is a pass of additive statistics over the rows,
        so :func:`fastdgm.blockfit.fit_in_blocks` and :func:`fastdgm.dask.fit` fit it too
        (without ``dedupe``: they equal ``fit(X, dedupe=False)``).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_hidden : int
            K, states of every latent.
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        alpha : float >= 0
            Pseudo-count added to every expected count of the M-step.
        rng : SPEC 7 seed
            Restart 0 starts from the key of ``rng``, restart r > 0 from its sub-stream r.
        max_iter : int, default 100
        tol : float >= 0, default 1e-5
        progress : bool
            Progress bar of EM iterations on stderr.
        sample_weight : array_like of float, shape (n,), optional
        init : {"mixture", "random"}
            How EM starts (step 2).
        init_noise : float >= 0
            ``init="random"`` only: scale of the log-normal perturbation of the initial
            emissions (3 gave clearly better optima than 1 on the binary density benchmarks:
            plants -13.99 vs -14.21, accidents -27.7 vs -28.2 test log-likelihood at K = 16).
        dedupe : bool
            Run EM on the distinct rows of X weighted by their multiplicities (the same EM
            iterations from the same start, up to rounding; much faster on data with many
            repeated rows). With ``init="mixture"`` the start itself is drawn per distinct row.
        n_init : int, default 1
            Restarts; the one with the highest final objective is returned (first on ties).
        soften : float in [0, 0.5), default 0.0
            Data softening (step 3): the paper's 1 - beta (its grid: about 1e-4 to 1e-2).
        precision : {"auto", "float64", "float32"}
            E-step arithmetic: "float32" runs SGEMMs on per-row-scaled float32 messages, float64
            sums (within 1e-5 of "float64"; :mod:`fastdgm.kernels.hclt_gemm`); "auto": float32 from
            K = 64 (``hclt_gemm.F32_MIN_K``) on. :meth:`log_prob` is always float64.
        batch_size, kappa : int or None, float in (0.5, 1], default None, 0.6
            An int: mini-batch (stepwise) EM, each iteration an epoch of seeded batches of ``batch_size``
            (distinct) rows, step sizes (t + 1) ** -kappa (:mod:`fastdgm.models._em_stepwise`).

        Returns
        -------
        HiddenChowLiuTree
        """
        X, C = fit_data(X, n_states)
        w = check_sample_weight(sample_weight, X.shape[0])
        if dedupe:
            X, w = distinct_rows(X, w)
        return em.fit(cls, em.InMemory(X, C, w if w.size else None), n_hidden=n_hidden, alpha=alpha,
                      rng=rng, max_iter=max_iter, tol=tol, n_init=n_init, progress=progress, init=init,
                      init_noise=init_noise, soften=soften, precision=precision, batch_size=batch_size,
                      kappa=kappa)

    # --- the EM statistics protocol (fastdgm.models.em) ------------------------------------
    @classmethod
    def _em_check(cls, *, n_hidden, init, init_noise, soften=0.0, precision="auto") -> dict:  # type: ignore[override]
        if init not in ("mixture", "random"):
            raise ValueError(f"init must be 'mixture' or 'random', got {init!r}")
        _hg.check_precision(precision)
        return {"n_hidden": check_positive_int(n_hidden, "n_hidden"), "init": init,
                "init_noise": check_scalar(init_noise, "init_noise", minimum=0.0), "soften": check_soften(soften),
                "precision": precision}

    @classmethod
    def _em_prepare(cls, X, n_states, *, precision="auto", soften=0.0):
        """The block with the fit's context (softening travels with the blocks):
        ``(X, precision, soften)``."""
        return (X, precision, soften)

    @classmethod
    def _em_setup(cls, data, *, alpha, n_hidden, init, init_noise, soften=0.0, precision="auto") -> dict:  # type: ignore[override]
        setup = {"parent": (clt := data.fit(ChowLiuTree, alpha=1.0)).parent, "mutual_info": clt.mutual_info_,
                 "context": {"precision": precision, **({"soften": soften} if soften else {})}}
        if init == "random":          # the weighted marginals of the columns
            from .factorized import Factorized

            stats = data.reduce(("suff", Factorized, {"n_states": data.n_states}))
            setup.update(counts=stats["counts"], total=float(stats["total"]))
        return setup

    @staticmethod
    def _restart_key(key, restart: int) -> np.uint64:
        # restart 0 from the key itself, as the single start of 0.1 did
        return np.uint64(key) if restart == 0 else np.uint64(substream_ref(int(key), restart))

    @classmethod
    def _em_start(cls, data, key, restart, alpha, setup, *, n_hidden, init, init_noise, soften=0.0,
                  precision="auto"):
        root, trans, emit = initial_tables(data, setup, n_hidden, alpha, cls._restart_key(key, restart),
                                           init, init_noise, INIT_STAY)
        out = cls._trusted(setup["parent"], normalise_rows(root), normalise_rows(trans), normalise_rows(emit))
        out._soften = float(soften)
        return out

    @property
    def objective_(self) -> list:
        """Deprecated alias of ``objective_history_`` (the 0.1 name)."""
        warnings.warn("HiddenChowLiuTree.objective_ is deprecated: use objective_history_ (the name "
                      "every EM model uses)", FutureWarning, stacklevel=2)
        return self.objective_history_

    @property
    def log_likelihood_(self) -> list:
        """Deprecated alias of ``log_likelihood_history_`` (the 0.1 name)."""
        warnings.warn("HiddenChowLiuTree.log_likelihood_ is deprecated: use log_likelihood_history_ "
                      "(the name every EM model uses)", FutureWarning, stacklevel=2)
        return self.log_likelihood_history_

    @classmethod
    def _fit_bytes(cls, shape, n_states, params):
        K = int(params.get("n_hidden", 16))
        n, d = shape
        # the E-step and the M-step's copies of the tables (_hclt_passes.estep_bytes)
        return estep_bytes(n, d, K, n_states, params.get("precision", "auto")), "n_hidden"

    # --- persistence ---------------------------------------------------------------------
    def get_params(self) -> dict:
        return {"parent": self.parent, "root_probs": self.root_probs,
                "trans_probs": self.trans_probs, "emit_probs": self.emit_probs}

    @classmethod
    def from_params(cls, params):
        for k in ("parent", "root_probs", "trans_probs", "emit_probs"):
            if k not in params:
                raise ValueError(f"HiddenChowLiuTree model file lacks the array {k!r}")
        return cls(params["parent"], params["root_probs"], params["trans_probs"], params["emit_probs"])

    def __repr__(self) -> str:
        return (f"HiddenChowLiuTree(n_dims={self.n_dims}, n_states={self.n_states}, "
                f"n_hidden={self.n_hidden})")
