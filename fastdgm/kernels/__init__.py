"""The hot paths: numba and Cython kernels that trust their inputs.

Kernels import only kernels; the public layer (:mod:`fastdgm.sampling`, :mod:`fastdgm.models`,
:mod:`fastdgm.mcmc`, ...) validates arguments and calls them, never the reverse.

- ``_threshold`` (Cython, ``csrc/_threshold.pyx``): cumulative-level thresholding;
- :mod:`.rng`, :mod:`.levels`: the counter RNG and level search as numba helpers;
- :mod:`.parallel`, :mod:`.threads`: the one parallel-kernel decorator and the thread count;
- :mod:`.likelihood`, :mod:`.ancestral`: log-likelihood reductions, sufficient statistics,
  ancestral samplers of the models;
- :mod:`.gibbs_common`, :mod:`.gibbs_grid`, :mod:`.gibbs_graph`: Gibbs sweeps;
- :mod:`.mrf_exact`: exact MRF reductions (energy, log Z, pseudo-likelihood).

Importing this package imports nothing heavy; numba is imported by the kernel modules.
"""
