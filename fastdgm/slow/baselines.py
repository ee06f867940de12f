"""The strongest simple baselines a user could write in numpy (and torch, when installed).

One home for every baseline that the cases of ``fastdgm bench`` (:mod:`fastdgm.bench.cases`,
timed by the embedded runner and by the pytest-benchmark suites of ``benchmarks/``) time
against fastdgm. Each is the idiom an expert would write, not a strawman:

- Ising: int8 spins (+-1), a lookup table of P(s = +1 | neighbour sum), the checkerboard
  vectorised over the whole lattice (:func:`ising_checkerboard`);
- Potts: per-state counts of equal neighbours, a table of exp(beta * count)
  (:func:`potts_checkerboard`);
- general graphs: a chromatic sweep gathering neighbour tables (:func:`chromatic_gibbs`);
- one draw per row: ``(P.cumsum(1) > u[:, None]).argmax(1)`` (:func:`categorical_rows`);
- logits: softmax, then the same idiom (:func:`categorical_logits`);
- torch CPU (``torch_*``): ``torch.multinomial``, ``torch.distributions.Categorical`` and
  gather-based log-probabilities; :func:`torch_or_none` is None when torch is absent.
"""
from __future__ import annotations

import numpy as np

from .gibbs import chromatic_gibbs
from .likelihood import factorized_log_prob_numpy, mixture_log_prob_numpy

__all__ = ["ising_checkerboard", "potts_checkerboard", "chromatic_gibbs", "categorical_rows",
           "categorical_logits", "choice", "factorized_log_prob_numpy", "mixture_log_prob_numpy",
           "torch_or_none", "torch_multinomial_rows", "torch_categorical_rows", "torch_categorical_logits",
           "torch_multinomial_single", "torch_factorized_log_prob"]


def _checker_masks(H, W):
    ii, jj = np.indices((H, W))
    return [((ii + jj) % 2 == c) for c in range(2)]


def ising_checkerboard(spins, beta, n_sweeps, rng):
    """Heat-bath checkerboard sweeps of the periodic Ising model, int8 spins and a table.

    Parameters
    ----------
    spins : int8 array (chains, H, W) of +-1, H and W even; updated in place and returned
    beta : float
    n_sweeps : int
    rng : numpy Generator

    Returns
    -------
    ndarray
        ``spins``.
    """
    s = spins
    # P(s = +1 | neighbour sum h) for h = -4..4, indexed by h + 4 (odd h never occurs)
    h = np.arange(-4, 5)
    p_up = (1.0 / (1.0 + np.exp(-2.0 * beta * h))).astype(np.float32)
    masks = _checker_masks(*s.shape[1:])
    nb = np.empty_like(s)
    for _ in range(n_sweeps):
        for m in masks:
            np.add(np.roll(s, 1, 1), np.roll(s, -1, 1), out=nb)
            nb += np.roll(s, 1, 2)
            nb += np.roll(s, -1, 2)
            nb += 4
            up = rng.random(s.shape, dtype=np.float32) < p_up[nb]
            new = (2 * up.view(np.int8) - 1).astype(np.int8, copy=False)
            np.copyto(s, new, where=m)
    return s


def potts_checkerboard(state, beta, n_states, n_sweeps, rng):
    """Heat-bath checkerboard sweeps of the periodic Potts model by per-state neighbour counts.

    Parameters
    ----------
    state : uint8 array (chains, H, W) in [0, n_states), H and W even; updated in place
    beta : float
    n_states : int
    n_sweeps : int
    rng : numpy Generator

    Returns
    -------
    ndarray
        ``state``.
    """
    s = state
    expb = np.exp(beta * np.arange(5)).astype(np.float32)   # weight of a state with n equal neighbours
    masks = _checker_masks(*s.shape[1:])
    w = np.empty((n_states,) + s.shape, dtype=np.float32)
    for _ in range(n_sweeps):
        for m in masks:
            nbs = (np.roll(s, 1, 1), np.roll(s, -1, 1), np.roll(s, 1, 2), np.roll(s, -1, 2))
            for k in range(n_states):
                cnt = (nbs[0] == k).view(np.uint8) + (nbs[1] == k) + (nbs[2] == k) + (nbs[3] == k)
                np.take(expb, cnt, out=w[k])
            cum = np.cumsum(w, axis=0, out=w)
            target = rng.random(s.shape, dtype=np.float32) * cum[-1]
            new = (cum[:-1] <= target).sum(0, dtype=np.uint8)
            np.copyto(s, new, where=m)
    return s


def categorical_rows(P, u):
    """One draw per row of a row-normalised P (n, C): ``(P.cumsum(1) > u[:, None]).argmax(1)``."""
    return (P.cumsum(1) > u[:, None]).argmax(1)


def categorical_logits(L, u):
    """One draw per row of logits L (n, C): a numpy softmax, then :func:`categorical_rows`."""
    e = np.exp(L - L.max(1, keepdims=True))
    e /= e.sum(1, keepdims=True)
    return categorical_rows(e, u)


def choice(p, size, rng):
    """numpy's own sampler of one distribution: ``Generator.choice`` with probabilities."""
    p = np.asarray(p, dtype=np.float64)
    return rng.choice(p.shape[0], size=size, p=p / p.sum())


# --- torch CPU (optional) ------------------------------------------------------------------
def torch_or_none():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_multinomial_rows(Pt, gen):
    """``torch.multinomial(P, 1)``: one draw per row of a torch tensor P (n, C)."""
    import torch

    return torch.multinomial(Pt, 1, generator=gen)[:, 0]


def torch_categorical_rows(Pt):
    """``torch.distributions.Categorical(probs=P).sample()``."""
    import torch

    return torch.distributions.Categorical(probs=Pt, validate_args=False).sample()


def torch_categorical_logits(Lt):
    """``torch.distributions.Categorical(logits=L).sample()``."""
    import torch

    return torch.distributions.Categorical(logits=Lt, validate_args=False).sample()


def torch_multinomial_single(pt, n, gen):
    """``torch.multinomial(p, n, replacement=True)``: n draws of one distribution."""
    import torch

    return torch.multinomial(pt, n, replacement=True, generator=gen)


def torch_factorized_log_prob(Xt, logpt):
    """sum_j logp[j, x_ij] by one gather: ``logp.T.gather(0, X).sum(1)`` (X int64 (n, d))."""
    return logpt.T.gather(0, Xt).sum(1)
