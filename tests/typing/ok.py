"""A typed user script: mypy must accept it (tests/test_typing.py)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

import fastdgm as fd
from fastdgm.estimators import Estimate
from fastdgm.mcmc import GibbsResult
from fastdgm.models.base import Model

X: NDArray[np.int64] = np.random.default_rng(0).integers(0, 3, size=(100, 4))

one: np.integer | NDArray[np.integer] = fd.categorical([0.2, 0.8], rng=0)
many: NDArray[np.integer] = fd.categorical([0.2, 0.8], size=(3, 4), rng=np.random.default_rng(1))
levels: NDArray[np.float64] = fd.cumulative_levels([1, 2, 3])
x: float = fd.sample_density([0.0, 1.0], [1.0, 1.0], rng=0)
xs: NDArray[np.float64] = fd.sample_density([0.0, 1.0], [1.0, 1.0], size=10)
joint: NDArray[np.integer] = fd.sample_joint(np.ones((2, 2)), size=5)

cat = fd.Categorical([0.1, 0.9])
c1 = cat.sample(rng=0)
cs: NDArray[np.integer] = cat.sample(5, rng=0, method="alias")

fact: fd.Factorized = fd.Factorized.fit(X, alpha=0.5)
tree: fd.ChowLiuTree = fd.ChowLiuTree.fit(X, n_states=3)
mix: fd.Mixture = fd.Mixture.fit(X, n_components=2, rng=0, max_iter=5)
mrf: fd.PairwiseMRF = fd.PairwiseMRF.grid((4, 4), 2, 0.3)
lp: NDArray[np.float64] = fact.log_prob(X)
s: NDArray[np.integer] = tree.sample(10, rng=0)
score: float = mix.score(X)
models: list[Model] = [fact, tree, mix, mrf]

res: GibbsResult = fd.gibbs(mrf, 2, 10, rng=0)
samples: NDArray[np.integer] = res.samples
energy: NDArray[np.float64] = res.energy
r = fd.rhat(res.energy)
est: Estimate = fd.entropy_estimate(lp)
kl: float = fd.kl_divergence(fact, tree, n=100, rng=0)
fd.set_num_threads(1)
with fd.threads(2) as n:
    k: int = n + fd.get_num_threads()
loaded: Model = fd.load("model.npz")
