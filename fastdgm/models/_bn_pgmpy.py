"""Conversions between :class:`BayesianNetwork` and pgmpy's ``DiscreteBayesianNetwork``.

pgmpy is an optional dependency: imported only inside :func:`to_pgmpy`. A pgmpy network whose
variables have different numbers of states becomes a network with C = the largest: a variable's
extra states get probability 0 and a table row for an impossible parent state is uniform.
Nodes are numbered in the order of ``model.nodes()``, states in the order of ``state_names``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["from_pgmpy", "to_pgmpy"]


def from_pgmpy(cls, model):
    """(network, names, state_names) of a pgmpy discrete Bayesian network.

    Parameters
    ----------
    cls : type
        :class:`BayesianNetwork`.
    model : pgmpy DiscreteBayesianNetwork
        With a CPD for every node.

    Returns
    -------
    network : BayesianNetwork
    names : list
        The node of each column.
    state_names : dict
        Node -> list of its states (index = the state's number).
    """
    names = list(model.nodes())
    index = {v: j for j, v in enumerate(names)}
    cpds = {cpd.variable: cpd for cpd in model.get_cpds()}
    missing = [v for v in names if v not in cpds]
    if missing:
        raise ValueError(f"model has no CPD for {missing[:5]}")
    C = max(int(cpds[v].cardinality[0]) for v in names)
    parents, tables, states = [], [], {}
    for v in names:
        cpd = cpds[v]
        ev = list(cpd.variables[1:])
        vals = np.asarray(cpd.get_values(), dtype=np.float64)    # (card_v, prod card_ev)
        cards = [int(c) for c in cpd.cardinality]
        full = np.full((C,) * len(ev) + (C,), 0.0)
        full[...] = 0.0
        block = np.moveaxis(vals.reshape(cards), 0, -1)          # (card_ev..., card_v)
        idx = tuple(slice(0, c) for c in cards[1:]) + (slice(0, cards[0]),)
        full[idx] = block
        flat = full.reshape(-1, C)
        empty = flat.sum(axis=1) == 0
        flat[empty] = 1.0
        parents.append([index[p] for p in ev])
        tables.append(flat)
        states[v] = list(cpd.state_names[v])
    return cls(parents, tables), names, states


def to_pgmpy(network, names=None):
    """A pgmpy ``DiscreteBayesianNetwork`` equal to ``network`` (states 0 .. C-1).

    Parameters
    ----------
    network : BayesianNetwork
    names : list, optional
        Node names (default ``"x0"``, ``"x1"``, ...).

    Returns
    -------
    pgmpy.models.DiscreteBayesianNetwork
    """
    try:
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.models import DiscreteBayesianNetwork
    except ImportError as exc:   # pragma: no cover - depends on the environment
        raise ImportError("to_pgmpy needs pgmpy (pip install pgmpy)") from exc
    d, C = network.n_dims, network.n_states
    names = [f"x{j}" for j in range(d)] if names is None else list(names)
    if len(names) != d:
        raise ValueError(f"names must hold {d} names, got {len(names)}")
    bn = DiscreteBayesianNetwork()
    bn.add_nodes_from(names)
    bn.add_edges_from((names[int(p)], names[int(c)]) for p, c in network.edges)
    for j, (pa, tab) in enumerate(zip(network.parents, network.tables)):
        ev = [names[int(p)] for p in pa]
        bn.add_cpds(TabularCPD(names[j], C, tab.T, evidence=ev or None,
                               evidence_card=[C] * len(ev) or None))
    return bn
