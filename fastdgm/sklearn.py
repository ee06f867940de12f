"""scikit-learn estimators wrapping fastdgm's model families (optional extra:
``pip install 'fastdgm[sklearn]'``).

Each estimator follows scikit-learn's density-estimator protocol (as ``KernelDensity`` and
``GaussianMixture`` do): hyper-parameters in ``__init__``, ``fit(X)`` returns the estimator
with the fitted fastdgm model in ``model_``, ``score_samples(X)`` is the log-likelihood of each
row, ``score(X)`` their mean, and ``sample(n_samples, random_state)`` draws new rows. They work
with ``clone``, ``GridSearchCV``, ``cross_val_score``, ``Pipeline`` and pickle.

=================================  ==================================
:class:`FactorizedDensity`         :class:`fastdgm.Factorized`
:class:`ChowLiuTreeDensity`        :class:`fastdgm.ChowLiuTree`
:class:`MixtureDensity`            :class:`fastdgm.Mixture`
:class:`TreeMixtureDensity`        :class:`fastdgm.TreeMixture`
:class:`HiddenChowLiuTreeDensity`  :class:`fastdgm.HiddenChowLiuTree`
:class:`HCLTMixtureDensity`        :class:`fastdgm.HCLTMixture`
=================================  ==================================

Input: X holds *states*, non-negative integers (category codes) in any integer or float
dtype; a float array must be integer-valued (the ``encode="ordinal"`` output of
``KBinsDiscretizer`` or ``OrdinalEncoder`` is). Continuous features are a ``ValueError``
that says to discretise them first; NaN and infinity are errors (use
:class:`fastdgm.table.TableModel` or ``model_.log_prob(X, missing=mask)`` for missing cells).
The estimators declare the scikit-learn tags ``input_tags.categorical`` and
``input_tags.positive_only`` (scikit-learn's own checks then feed them rounded, shifted data).
scikit-learn's ``check_sample_weight_equivalence_on_dense_data`` ignores those tags (it fits
on ``rng.rand`` floats) and is the one expected failure of ``parametrize_with_checks``; the
property it checks (integer weights = repeated rows) is tested on states in fastdgm's tests.
Tested with scikit-learn 1.9 (``parametrize_with_checks``) and 1.5 (the legacy checks).

States: ``n_states=None`` (default) infers C as ``X.max() + 1`` at fit, stored as
``n_states_``. A state >= ``n_states_`` at score time is a ``ValueError`` naming the
position and the value: the model gives it no probability. In cross-validation a rare state
may then be missing from a training fold; pass ``n_states`` (the number of categories of the
data) to make every fold's model cover every state.

Randomness: ``random_state`` (fit of the EM models, and ``sample``) may be None, an int, a
numpy ``Generator``, ``BitGenerator`` or ``SeedSequence`` (passed to fastdgm as ``rng``: an
int gives the same fit and draws as ``Model.fit(..., rng=int)``), or a legacy
``RandomState`` (which is advanced to draw an int seed).

Importing :mod:`fastdgm` never imports scikit-learn; importing this module does.
"""
from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastdgm.sklearn needs scikit-learn: pip install 'fastdgm[sklearn]'") from exc

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.4 / 1.5
    def _validate_data(estimator, X, **kw):
        return estimator._validate_data(X, **kw)

from ._validation import check_positive_int, check_states, first_bad, smallest_uint

__all__ = ["FactorizedDensity", "ChowLiuTreeDensity", "MixtureDensity", "TreeMixtureDensity",
           "HiddenChowLiuTreeDensity", "HCLTMixtureDensity"]


def _as_rng(random_state):
    """scikit-learn's ``random_state`` as a SPEC 7 ``rng`` (a RandomState draws an int seed)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return random_state


def _pos(idx) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _states(X: np.ndarray, n_states: int | None) -> tuple[np.ndarray, int]:
    """Validated numeric 2-D X (from ``validate_data``) as compact integer states."""
    if X.size and X.dtype.kind in "if" and X.min() < 0:
        idx = first_bad(X < 0)
        raise ValueError(f"Negative values in data passed to X: X{_pos(idx)} = {X[idx]!r}; states are "
                         f"non-negative integers (category codes)")
    if X.dtype.kind == "f":
        idx = first_bad(X != np.round(X))
        if idx is not None:
            raise ValueError(f"X must hold non-negative integer states (category codes), got "
                             f"X{_pos(idx)} = {X[idx]!r}; discretise continuous features first, "
                             f"e.g. with KBinsDiscretizer(encode='ordinal')")
        if X.size and X.max() >= 2 ** 62:
            idx = first_bad(X == X.max())
            raise ValueError(f"X{_pos(idx)} = {X[idx]!r} is too large to be a state")
        X = X.astype(np.int64)
    if n_states is None:
        return check_states(X, "X")
    if X.size and X.max() >= n_states:         # one reduction; the position only on error
        idx = first_bad(X >= n_states)
        if idx is not None:
            raise ValueError(f"X{_pos(idx)} = {X[idx]!r} is not a state the model knows: it was fitted "
                             f"with n_states_ = {n_states} (states 0 .. {n_states - 1}); a state seen "
                             f"only after fit has no probability, pass n_states= to the estimator to "
                             f"cover every category of the data")
    return np.ascontiguousarray(X, dtype=smallest_uint(n_states)), n_states


def _doc(summary: str, model: str, defaults: dict[str, Any]) -> str:
    """Numpydoc docstring of an estimator from the shared parameter descriptions."""
    lines = [summary, "", f"Wraps :meth:`fastdgm.{model}.fit`; see it for the meaning of each "
             "hyper-parameter.", "", "Parameters", "----------"]
    lines += [_PARAM_DOCS[name].format(default) for name, default in defaults.items()]
    lines += ["", "Attributes", "----------", _ATTRIBUTES.format(model=model)]
    return "\n".join(lines)


_PARAM_DOCS = {
    "n_states": "n_states : int, optional\n    Number of states C of every feature; None infers ``X.max() + 1`` "
                "at fit.",
    "n_components": "n_components : int, default={0}\n    Number of mixture components K.",
    "n_hidden": "n_hidden : int, default={0}\n    Number of states K of every latent variable.",
    "n_trees": "n_trees : int, default={0}\n    Number of hidden Chow-Liu trees M (on the M best Chow-Liu trees).",
    "alpha": "alpha : float, default={0}\n    Dirichlet pseudo-count added to every count (smoothing).",
    "max_iter": "max_iter : int, default={0}\n    Most EM iterations.",
    "tol": "tol : float, default={0}\n    Relative tolerance of EM's stopping rule.",
    "n_init": "n_init : int, default={0}\n    Number of EM starts; the best objective is kept.",
    "init": "init : {{'mixture', 'random'}}, default={0!r}\n    How EM starts.",
    "init_noise": "init_noise : float, default={0}\n    Scale of the random start's perturbation "
                  "(``init='random'`` only).",
    "dedupe": "dedupe : bool, default={0}\n    Run EM on the distinct rows weighted by their counts.",
    "shrink": "shrink : float, default={0}\n    Pseudo-rows shrinking every tree's table rows toward the data's "
              "conditionals.",
    "soften": "soften : float, default={0}\n    Data softening: probability moved from each observed state "
              "to the others.",
    "random_state": "random_state : None, int, Generator, SeedSequence, BitGenerator or RandomState, "
                    "default={0}\n    Seed of EM's random start (fastdgm's ``rng``).",
}
_ATTRIBUTES = """model_ : fastdgm.{model}
    The fitted model.
n_states_ : int
    Number of states C of the fitted model.
n_features_in_ : int
    Number of features d seen at fit.
feature_names_in_ : ndarray of str, shape (n_features,)
    Column names of X, when X was a DataFrame with string column names."""


class _DensityEstimator(DensityMixin, BaseEstimator):
    """Shared implementation: every hyper-parameter except ``n_states`` and ``random_state``
    is a keyword argument of the model's ``fit`` of the same name; ``random_state`` is its
    ``rng``."""

    _model: ClassVar[str]
    """Name of the fastdgm model class, e.g. ``"Factorized"``."""

    def _fit_kwargs(self) -> dict[str, Any]:
        kw = self.get_params(deep=False)
        kw.pop("n_states")
        if "random_state" in kw:
            kw["rng"] = _as_rng(kw.pop("random_state"))
        return kw

    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to X.

        Parameters
        ----------
        X : array_like of int, shape (n_samples, n_features)
            States in [0, n_states).
        y : None
            Ignored (scikit-learn API).
        sample_weight : array_like of float, shape (n_samples,), optional
            Weight of each row (default 1).

        Returns
        -------
        self
            The estimator, with the fitted model in ``model_``.
        """
        import fastdgm

        X = _validate_data(self, X, reset=True, dtype="numeric")
        n_states = self.n_states
        if n_states is not None:
            if isinstance(n_states, (bool, np.bool_)) or not isinstance(n_states, numbers.Integral):
                raise TypeError(f"n_states must be None or an int, got {n_states!r}")
            n_states = check_positive_int(n_states, "n_states")
        X, C = _states(X, n_states)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        model_cls = getattr(fastdgm, self._model)
        self.model_ = model_cls.fit(X, n_states=C, sample_weight=sample_weight, **self._fit_kwargs())
        self.n_states_ = int(self.model_.n_states)
        return self

    def _states(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False, dtype="numeric")
        return _states(X, self.n_states_)[0]

    def score_samples(self, X):
        """Log-likelihood of each row of X under the fitted model (``model_.log_prob``).

        Parameters
        ----------
        X : array_like of int, shape (n_samples, n_features)
            States in [0, n_states_).

        Returns
        -------
        ndarray of float64, shape (n_samples,)
            ``log P(x)`` of each row, in nats.
        """
        return self.model_.log_prob(self._states(X))

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X (higher is better), in nats per sample.

        Parameters
        ----------
        X : array_like of int, shape (n_samples, n_features)
            States in [0, n_states_).
        y : None
            Ignored (scikit-learn API).

        Returns
        -------
        float
            ``score_samples(X).mean()``.
        """
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    def sample(self, n_samples=1, random_state=None):
        """Draw rows from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.
        random_state : None, int, Generator, SeedSequence, BitGenerator or RandomState
            Seed; an int gives the same rows as ``model_.sample(n_samples, rng=int)``.

        Returns
        -------
        ndarray of uint, shape (n_samples, n_features)
            States, in the smallest unsigned dtype holding ``n_states_``.
        """
        check_is_fitted(self)
        n = check_positive_int(n_samples, "n_samples")
        return self.model_.sample(n, rng=_as_rng(random_state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = False
        return tags

    def _more_tags(self):  # pragma: no cover - scikit-learn < 1.6
        return {"X_types": ["2darray", "categorical"], "allow_nan": False, "requires_positive_X": True}


class FactorizedDensity(_DensityEstimator):
    _model = "Factorized"

    def __init__(self, n_states=None, alpha=1.0):
        self.n_states = n_states
        self.alpha = alpha


class ChowLiuTreeDensity(_DensityEstimator):
    _model = "ChowLiuTree"

    def __init__(self, n_states=None, alpha=1.0):
        self.n_states = n_states
        self.alpha = alpha


class MixtureDensity(_DensityEstimator):
    _model = "Mixture"

    def __init__(self, n_components=10, n_states=None, alpha=1.0, max_iter=100, tol=1e-5, n_init=1,
                 random_state=None):
        self.n_components = n_components
        self.n_states = n_states
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state


class TreeMixtureDensity(_DensityEstimator):
    _model = "TreeMixture"

    def __init__(self, n_components=10, n_states=None, alpha=1.0, max_iter=100, tol=1e-5, n_init=1,
                 random_state=None, shrink=0.0):
        self.n_components = n_components
        self.n_states = n_states
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.shrink = shrink


class HiddenChowLiuTreeDensity(_DensityEstimator):
    _model = "HiddenChowLiuTree"

    def __init__(self, n_hidden=16, n_states=None, alpha=0.1, max_iter=100, tol=1e-5, init="mixture",
                 init_noise=3.0, dedupe=True, n_init=1, random_state=None, soften=0.0):
        self.n_hidden = n_hidden
        self.n_states = n_states
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.init_noise = init_noise
        self.dedupe = dedupe
        self.n_init = n_init
        self.random_state = random_state
        self.soften = soften


class HCLTMixtureDensity(_DensityEstimator):
    _model = "HCLTMixture"

    def __init__(self, n_trees=4, n_hidden=16, n_states=None, alpha=0.1, max_iter=100, tol=1e-5, init="mixture",
                 init_noise=3.0, dedupe=True, n_init=1, random_state=None, soften=0.0):
        self.n_trees = n_trees
        self.n_hidden = n_hidden
        self.n_states = n_states
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.init_noise = init_noise
        self.dedupe = dedupe
        self.n_init = n_init
        self.random_state = random_state
        self.soften = soften


def _set_docs() -> None:
    import inspect

    summaries: dict[type[_DensityEstimator], str] = {
        FactorizedDensity: "Independent categorical features (:class:`fastdgm.Factorized`) as a "
                           "scikit-learn density estimator.",
        ChowLiuTreeDensity: "Chow-Liu tree (:class:`fastdgm.ChowLiuTree`) as a scikit-learn density "
                            "estimator.",
        MixtureDensity: "Mixture of factorized categoricals fitted by EM (:class:`fastdgm.Mixture`) as a "
                        "scikit-learn density estimator.",
        TreeMixtureDensity: "Mixture of Chow-Liu trees fitted by EM (:class:`fastdgm.TreeMixture`) as a "
                            "scikit-learn density estimator.",
        HiddenChowLiuTreeDensity: "Hidden Chow-Liu tree fitted by EM (:class:`fastdgm.HiddenChowLiuTree`) "
                                  "as a scikit-learn density estimator.",
        HCLTMixtureDensity: "Mixture of hidden Chow-Liu trees on the best Chow-Liu trees, fitted by EM "
                            "(:class:`fastdgm.HCLTMixture`) as a scikit-learn density estimator.",
    }
    for cls, summary in summaries.items():
        sig = inspect.signature(cls).parameters
        cls.__doc__ = _doc(summary, cls._model, {p: sig[p].default for p in sig})


_set_docs()
