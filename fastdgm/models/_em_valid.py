"""Early stopping of the EM engine on held-out rows (:func:`validation_stop`).

Within ``with validation_stop(valid, patience):`` the outermost EM fit (:func:`fastdgm.models.em.fit`)
scores every iterate on ``valid`` (its mean log-likelihood, :meth:`Model.score`). A restart stops
when ``patience`` iterations have passed since the last iterate that beat the best valid score so
far by more than ``tol * |best|`` (or earlier by the engine's stop rule, or at ``max_iter``), and
returns its best-on-valid iterate (the first of equal scores) with the histories cut at it;
``valid_history_`` keeps the score of every iterate. Restarts compare on their best valid
score. Fits nested in the fit (the mixture start of a hidden Chow-Liu tree) run as without it.
The scores are deterministic functions of the iterates, so the seed still fixes the result on
any number of threads.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from .._validation import check_positive_int, check_scalar

__all__ = ["VALID_TOL", "ValidationMonitor", "validation_stop", "active_monitor"]

VALID_TOL = 1e-4
"""Default relative gain on valid that counts as an improvement (1e-4 of -30 nats: 0.003)."""

_CURRENT: ContextVar = ContextVar("fastdgm_em_validation", default=None)


class ValidationMonitor:
    """The valid scores of one restart's iterates and its best one (see the module docstring).

    Parameters
    ----------
    valid : ndarray of int, shape (m, d)
        Validated held-out rows (states in [0, C)).
    patience : int >= 1
        Iterations without a gain before the restart stops.
    tol : float >= 0
        Relative gain that counts as one.
    """

    def __init__(self, valid, patience: int, tol: float = VALID_TOL):
        self.valid = valid
        self.patience = check_positive_int(patience, "early_stopping")
        self.tol = check_scalar(tol, "tol", minimum=0.0)
        self.restart()

    def restart(self) -> None:
        """Forget the previous restart's scores."""
        self.scores: list[float] = []
        self.best = -1                  # index of the best score
        self.gain = -1                  # index of the last iterate that counted as a gain
        self.model: Any = None

    def seen(self, model) -> bool:
        """Record ``model``'s valid score (the next iterate); True when the restart should stop."""
        v = float(model.score(self.valid))
        self.scores.append(v)
        t = len(self.scores) - 1
        if self.best < 0 or v > self.scores[self.best]:
            if self.best < 0 or v - self.scores[self.best] > self.tol * abs(self.scores[self.best]):
                self.gain = t
            self.best, self.model = t, model
        return t - self.gain >= self.patience

    def best_of(self, trace: tuple) -> tuple:
        """The engine's ``(model, objectives, log-likelihoods, converged, _, _)`` of the restart
        cut at its best iterate: ``(best model, objectives[:b+1], log-likelihoods[:b+1],
        converged, valid scores, best valid score)``."""
        _, obj, ll, converged = trace[:4]
        b = self.best
        return self.model, obj[:b + 1], ll[:b + 1], converged, list(self.scores), self.scores[b]


@contextmanager
def validation_stop(valid, patience: int, tol: float = VALID_TOL) -> Iterator[ValidationMonitor]:
    """Early-stop the EM fits run inside on the held-out rows ``valid`` (module docstring).

    Parameters
    ----------
    valid : ndarray of int, shape (m, d)
        Held-out rows, validated (as :func:`fastdgm.select` does).
    patience : int >= 1
    tol : float >= 0
        See :class:`ValidationMonitor`.
    """
    monitor = ValidationMonitor(valid, patience, tol)
    token = _CURRENT.set(monitor)
    try:
        yield monitor
    finally:
        _CURRENT.reset(token)


@contextmanager
def active_monitor() -> Iterator[ValidationMonitor | None]:
    """The monitor of the enclosing :func:`validation_stop` (or None), hidden from the fits
    run inside (so that only the outermost fit stops on valid)."""
    monitor = _CURRENT.get()
    token = _CURRENT.set(None)
    try:
        yield monitor
    finally:
        _CURRENT.reset(token)
