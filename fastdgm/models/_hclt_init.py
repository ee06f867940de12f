"""The starting tables of the hidden Chow-Liu tree's EM: from the K-component mixture it
generalises, or random around the column marginals (:meth:`fastdgm.HiddenChowLiuTree.fit`)."""
from __future__ import annotations

import numpy as np

from .mixture import Mixture

__all__ = ["initial_tables"]


def initial_tables(data, setup, K, alpha, key, init, init_noise, stay_prob):
    """(root_probs, trans_probs, emit_probs) to start EM from; see :meth:`HiddenChowLiuTree.fit`
    (``stay_prob`` is its ``INIT_STAY``)."""
    d = setup["parent"].shape[0]
    if init == "mixture":
        mix = data.fit(Mixture, n_components=K, rng=int(key), alpha=alpha)
        stay = np.full((K, K), (1.0 - stay_prob) / K) + stay_prob * np.eye(K)
        return (np.exp(mix.log_weights), np.broadcast_to(stay, (d, K, K)),
                np.exp(mix.log_components).transpose(1, 0, 2))
    gen = np.random.default_rng(int(key))
    marg, total = setup["counts"], setup["total"]
    C = marg.shape[1]
    marg = (marg + max(alpha, 1e-3)) / (total + max(alpha, 1e-3) * C)
    emit = marg[:, None, :] * np.exp(init_noise * gen.standard_normal((d, K, C)))
    return np.full(K, 1.0 / K), gen.dirichlet(np.ones(K), size=(d, K)), emit
