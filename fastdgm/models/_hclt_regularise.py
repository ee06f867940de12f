"""Regularisation and selection of the hidden Chow-Liu tree: the grid of K that grows with n
(:func:`hidden_grid`) and data softening (Liu & Van den Broeck, "Tractable regularization of
probabilistic circuits", NeurIPS 2021): each observed x_ij becomes soft evidence, the
observed state with probability 1 - s and each other state with s / (C - 1); EM then fits
the softened data: the E-step runs on the emissions emit' = emit S (S the softening matrix)
and the M-step re-attributes the expected counts to the true states."""
from __future__ import annotations

import numpy as np

from ._hclt_passes import estep_bytes

__all__ = ["GRID_WORK", "hidden_grid", "check_soften", "softening_matrix", "softened",
           "soft_emit_counts"]

GRID_WORK = 2e10
"""Cap of the density benchmark's K grid: multiply-adds of one E-step, n d K^2 (a few seconds
per EM iteration at one-thread DGEMM speed)."""


def hidden_grid(n: int, d: int, n_states: int = 2, *, work: float | None = None) -> list[int]:
    """The grid of K (``n_hidden``) to select on a validation split, growing with n.

    The rule: K in {8, 16, 32} for n < 5,000 rows, {16, 32, 64} for n < 20,000,
    {32, 64, 128} for n < 100,000 and {64, 128, 256} from 100,000 rows on (more rows
    support more hidden states; the literature trains HCLTs with K = 256 and more on its
    largest sets). Values whose fit would need more memory than this process may use
    (:func:`._hclt_passes.estep_bytes`) are dropped; so are, with ``work``, values whose
    E-step costs more than ``work`` multiply-adds (n d K^2). If none is left, the one
    largest power of two (at least 2) under both caps.

    Parameters
    ----------
    n, d : int
        Rows and columns of the training split.
    n_states : int
        C.
    work : float, optional
        Cap on n d K^2 (the density benchmark uses ``GRID_WORK``).

    Returns
    -------
    list of int
        Increasing values of K.
    """
    from .._memory import available_memory

    top = 32 if n < 5_000 else 64 if n < 20_000 else 128 if n < 100_000 else 256
    avail = available_memory()

    def ok(K):
        return (estep_bytes(n, d, K, n_states) <= avail
                and (work is None or n * d * K * K <= work))

    grid = [K for K in (top // 4, top // 2, top) if ok(K)]
    if not grid:
        K = top // 4
        while K > 2 and not ok(K):
            K //= 2
        grid = [K]
    return grid


def softening_matrix(C: int, soften: float) -> np.ndarray:
    """S (C, C) of data softening: S[x, v] = P(true state v | observed x) = 1 - soften on the
    diagonal, soften / (C - 1) elsewhere (symmetric, rows and columns sum to 1)."""
    S = np.full((C, C), soften / max(C - 1, 1))
    np.fill_diagonal(S, 1.0 - soften)
    return S


def soft_emit_counts(emit_probs: np.ndarray, counts: np.ndarray, soften: float) -> np.ndarray:
    """Expected (Z_j = k, true X_j = v) counts (d, K, C) from the expected (Z_j = k, observed
    X_j = x) counts ``counts`` (d, K, C) of data softened by ``soften`` under the emissions
    ``emit_probs`` (d, K, C): count(k, v) = sum_x count(k, x) S[x, v] emit[k, v] / emit'[k, x],
    emit' = emit @ S (the softened emissions the E-step used); ``counts`` itself if soften = 0."""
    if soften == 0:
        return counts
    S = softening_matrix(emit_probs.shape[2], soften)
    soft = emit_probs @ S
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(counts > 0, counts / soft, 0.0)
    return emit_probs * (ratio @ S)


def check_soften(soften) -> float:
    """``soften`` as a float in [0, 0.5), else ValueError/TypeError naming it."""
    from .._validation import check_scalar

    s = check_scalar(soften, "soften", minimum=0.0)
    if s >= 0.5:
        raise ValueError(f"soften must be in [0, 0.5), got {soften}")
    return s


def softened(model, soften: float):
    """The HCLT with emissions emit' = emit @ S, whose likelihood of hard data x is ``model``'s
    likelihood of x softened by ``soften`` (S symmetric and doubly stochastic)."""
    return type(model)._trusted(model.parent, model.root_probs, model.trans_probs,
                                model.emit_probs @ softening_matrix(model.n_states, soften))
