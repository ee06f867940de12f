"""fastdgm: fast, exact kernels for explicit distribution learning over discrete data.

Learn P_w(x) by maximum likelihood, evaluate its log-likelihood, sample it:

- cumulative-level thresholding (Cython): :func:`categorical`, :func:`threshold`,
  :func:`cumulative_levels`, :func:`sample_density`, :func:`gaussian_transport`,
  :func:`sample_joint`, :class:`Categorical`;
- Gibbs sweeps over discrete Markov random fields (numba): :class:`PairwiseMRF`,
  :func:`gibbs`, :func:`rhat`, :func:`ess`;
- log-likelihood reductions, estimators and maximum-likelihood fitting (numba):
  :class:`Factorized`, :class:`Mixture`, :class:`ChowLiuTree`, :func:`kl_estimate`,
  :func:`entropy_estimate`, :func:`kl_divergence`.

``import fastdgm`` is cheap: numba is imported, and kernels compiled, only on first use.
"""
from importlib import import_module as _import_module
from typing import TYPE_CHECKING

from ._version import __version__
from ._config import get_num_threads, set_num_threads, threads, show_config
from .sampling import cumulative_levels, threshold, categorical, sample_joint
from .continuous import sample_density, gaussian_transport
from .models.categorical import Categorical
from .models._registry import MODEL_CLASSES as _MODEL_CLASSES
from .models._contract import set_table_model as _set_table_model


def _table_model():
    """``fastdgm.table.TableModel``, imported when a model is first given a table (pandas then)."""
    from .table import TableModel

    return TableModel


_set_table_model(_table_model)   # Model.fit(DataFrame) and load() reach the table layer through this hook

# Names served lazily from numba-backed modules (imported on first attribute access).
_LAZY = {
    **{name: "models" for name in _MODEL_CLASSES if name != "Categorical"},   # every model class
    "gibbs": "mcmc", "GibbsResult": "mcmc",
    "rhat": "diagnostics", "ess": "diagnostics",
    "Estimate": "estimators", "kl_estimate": "estimators", "entropy_estimate": "estimators",
    "cross_entropy": "estimators", "kl_divergence": "estimators", "empirical_entropy": "estimators",
    "Model": "models", "load": "models",
    "warmup": "_warmup",
    "load_digits": "datasets", "load_density_benchmark": "datasets", "list_density_benchmarks": "datasets",
    "select": "selection",
}

if TYPE_CHECKING:   # what type checkers see of the lazily served names
    from ._warmup import warmup
    from .datasets import list_density_benchmarks, load_density_benchmark, load_digits
    from .diagnostics import ess, rhat
    from .estimators import (Estimate, cross_entropy, empirical_entropy, entropy_estimate,
                             kl_divergence, kl_estimate)
    from .mcmc import GibbsResult, gibbs
    from .models import (BayesianNetwork, ChowLiuTree, Factorized, HCLTMixture, HiddenChowLiuTree, Mixture, Model,
                         PairwiseMRF, TreeMixture, load)
    from .selection import select

__all__ = [
    "__version__", "get_num_threads", "set_num_threads", "threads", "show_config",
    "cumulative_levels", "threshold", "categorical", "sample_density", "gaussian_transport",
    "sample_joint", "Categorical", *_LAZY,
]


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'fastdgm' has no attribute {name!r}")
    value = getattr(_import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
