"""A user script with deliberate type errors: mypy must flag every line marked with an E comment."""
from __future__ import annotations

import numpy as np

import fastdgm as fd

X = np.zeros((10, 3), dtype=np.int64)
model = fd.Factorized.fit(X)

fd.categorical([0.5, 0.5], size="3")  # E: a str as size
total: float = model.sample(10)  # E: the samples used as a float
fd.Factorized.fit(X, alpha="1")  # E: alpha must be a number
fd.load(3)  # E: a path is a str or os.PathLike
fd.set_num_threads("2")  # E: threads are an int
y: int = fd.sample_density([0.0, 1.0], [1.0, 1.0], size=5)  # E: an array, not an int
res = fd.gibbs(model, 2, 10)  # E: gibbs takes a PairwiseMRF
fd.gibbs(fd.PairwiseMRF.grid((2, 2), 2, 0.1), 2, 10).samples.sum(axis="x")  # E: axis
fd.Mixture.fit(X, n_components=2.5)  # E: n_components is an int
lp: str = model.log_prob(X)  # E: log_prob returns an array
