"""Mini-batch (stepwise) EM for the one EM engine (:func:`fastdgm.models.em.fit` with ``batch_size``).

With ``batch_size`` (in-memory data only), every iteration is an *epoch*: the rows in a
seeded random order (the restart's key, the epoch), cut in batches of ``batch_size`` rows;
after batch t (counted over the whole fit, t = 0, 1, ...) the running statistics become
``s <- (1 - eta_t) s + eta_t (W / W_t) stats_t`` with ``stats_t`` the batch's E-step
statistics under the current model, W the total weight, W_t the batch's, and
``eta_t = (t + 1) ** -kappa`` (Cappé & Moulines 2009, stepwise EM; ``kappa`` in (0.5, 1]
makes sum eta_t infinite and sum eta_t^2 finite; eta_0 = 1: the first batch sets s), then
the M-step of s. Scaling the batch to W keeps the prior's weight that of full-batch EM, so
the fixed points are the same. The epoch's recorded objective and log-likelihood are the
weighted means over its batches (each under the model that batch saw): an estimate, not the
exact value of one model, and not monotone; the stop rule applies to it.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_positive_int, check_scalar

__all__ = ["KAPPA", "check_stepwise", "iterate_stepwise"]

KAPPA = 0.6
"""Default step-size decay of mini-batch EM: eta_t = (t + 1) ** -KAPPA."""


def check_stepwise(batch_size, kappa, in_memory: bool) -> tuple[int, float]:
    """Validated ``(batch_size, kappa)``; the data must be in memory
    (:class:`~fastdgm.models.em.InMemory`)."""
    batch_size = check_positive_int(batch_size, "batch_size")
    kappa = check_scalar(kappa, "kappa", minimum=0.5, maximum=1.0, include_minimum=False)
    if not in_memory:
        raise ValueError("batch_size: mini-batch EM needs the data in memory (fit, not blocks)")
    return batch_size, kappa


def iterate_stepwise(model, data, alpha: float, max_iter: int, tol: float, context: dict, bar,
                     batch_size: int, kappa: float, key: int, stopped, monitor=None):
    """Mini-batch (stepwise) EM epochs of one restart (module docstring): (last model,
    epoch objectives, epoch log-likelihoods, converged, [], last epoch objective);
    ``stopped(objectives, tol)`` is the engine's stop rule; a validation ``monitor``
    (:mod:`._em_valid`) sees the model at the end of every epoch and may stop the loop."""
    n = data.X.shape[0]
    W = float(data.w.sum()) if data.w.size else float(n)
    obj: list[float] = []
    ll: list[float] = []
    converged = False
    s = None
    t = 0
    for epoch in range(max_iter):
        perm = np.random.default_rng([key, 0x5E9, epoch]).permutation(n)
        loglik = total = 0.0
        for b0 in range(0, n, batch_size):
            stats = data.rows(perm[b0:b0 + batch_size]).reduce(("em", model, {"context": context}))
            wt = float(stats["total"])
            loglik += float(stats["loglik"])
            total += wt
            if wt <= 0.0:
                continue
            eta = (t + 1.0) ** -kappa
            scale = W / wt
            s = {k: v * scale for k, v in stats.items()} if s is None else \
                {k: (1.0 - eta) * s[k] + (eta * scale) * v for k, v in stats.items()}
            model = model._em_update(s, alpha)
            t += 1
        obj.append((loglik / total) + model._log_prior(alpha) / W)
        ll.append(loglik / total)
        bar.update(1)
        done = monitor is not None and monitor.seen(model)
        if stopped(obj, tol) or done:
            converged = True
            break
    return model, obj, ll, converged, [], obj[-1]
