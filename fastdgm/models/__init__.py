"""Explicit-likelihood models, one per file; each follows :class:`fastdgm.models.base.Model`.

========================  ==========================================================
``categorical.py``        :class:`Categorical`: one variable (Cython thresholding)
``factorized.py``         :class:`Factorized`: independent variables
``mixture.py``            :class:`Mixture`: mixture of factorized models (MAP-EM)
``tree.py``               :class:`ChowLiuTree`: tree-structured model (Chow & Liu)
``mrf.py``                :class:`PairwiseMRF`: pairwise Markov random field (Gibbs)
``treemix.py``            :class:`TreeMixture`: mixture of Chow-Liu trees (Meila & Jordan)
``hclt.py``               :class:`HiddenChowLiuTree`: latent tree over the Chow-Liu tree (Liu & Van den Broeck)
``hclt_mixture.py``       :class:`HCLTMixture`: mixture of HCLTs over the top Chow-Liu trees
``bayesnet.py``           :class:`BayesianNetwork`: DAG of conditional tables (hill-climbing structure search)
========================  ==========================================================

``em.py`` is the one EM engine of the models fitted by EM (Mixture, TreeMixture, HCLT) and
its statistics protocol. Private helpers sit beside them (``_tables``, ``_packing``, ``_pair_stats``, ``_trees``,
``_mixture_em``, ``_gibbs_plan``, ``_mrf_fit``, ``_lattice``, ``_structure_search``, ``_bn_inference``). Names load lazily: importing this
package does not import numba; ``fastdgm.models.Factorized`` does.
"""
from importlib import import_module as _import_module

from typing import TYPE_CHECKING

from ._registry import MODEL_CLASSES, MODEL_MODULES
from .base import Model, load, register_model

if TYPE_CHECKING:   # what type checkers see of the lazily served names
    from ._pair_stats import max_spanning_tree, mutual_information_matrix, pairwise_counts
    from .bayesnet import BayesianNetwork
    from .categorical import Categorical
    from .factorized import Factorized
    from .hclt import HiddenChowLiuTree
    from .hclt_mixture import HCLTMixture
    from .mixture import Mixture
    from .mrf import PairwiseMRF
    from .tree import ChowLiuTree
    from .treemix import TreeMixture

_LAZY = {
    **MODEL_CLASSES,                     # every model class, from the registry's list
    "pairwise_counts": "_pair_stats",
    "mutual_information_matrix": "_pair_stats",
    "max_spanning_tree": "_pair_stats",
}


__all__ = ["Model", "load", "register_model", *_LAZY]


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'fastdgm.models' has no attribute {name!r}")
    value = getattr(_import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
