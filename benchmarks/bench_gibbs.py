"""Gibbs sweeps vs vectorised numpy heat-bath baselines: lattices, Potts q, general graphs, threads.

Full size: ``FASTDGM_BENCH_FULL=1 pytest benchmarks/bench_gibbs.py --benchmark-enable``.
``extra_info``: ``updates_per_s`` (site updates per second of the fastdgm call, median),
``speedup`` (numpy baseline median / fastdgm median, measured in the same run).
"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import gibbs as slow
from conftest import pick


def _record(benchmark, updates):
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["updates_per_s"] = updates / benchmark.stats.stats.median


def _lattice(compare, benchmark, L, q, beta, chains, sweeps, kernel):
    model = fd.PairwiseMRF.grid((L, L), q, beta)
    state = np.random.default_rng(0).integers(0, q, size=(chains, L, L))
    gen = np.random.default_rng(1)
    with fd.threads(1):
        compare(lambda: fd.gibbs(model, chains, sweeps, rng=0),
                lambda: slow.checkerboard_potts(state, beta, q, sweeps, gen),
                L=L, q=q, chains=chains, sweeps=sweeps, kernel=kernel)
    _record(benchmark, L * L * chains * sweeps)


def test_ising_256(compare, benchmark, full_size):
    """Ising (C = 2) 256x256, one chain, default gibbs call, one thread."""
    _lattice(compare, benchmark, pick(full_size, 256, 32), 2, 0.8, 1, pick(full_size, 40, 2), "gibbs-ising")


def test_potts_q10_128(compare, benchmark, full_size):
    """Potts q = 10 on 128x128, one chain, one thread."""
    _lattice(compare, benchmark, pick(full_size, 128, 16), 10, 1.0, 1, pick(full_size, 40, 2), "gibbs-potts")


@pytest.mark.parametrize("q", [2, 3, 5, 10, 20, 50])
def test_potts_cost_flat_in_q(compare, benchmark, full_size, q):
    """Cost per update as q grows (O(degree) Potts update), 128x128, one thread."""
    if not full_size and q not in (3, 50):
        q = 3  # the single CI pass only needs to run the code
    _lattice(compare, benchmark, pick(full_size, 128, 16), q, 1.0, 1, pick(full_size, 20, 2), "gibbs-potts-q")


def _regular3(d, seed=0):
    """Random 3-regular graph: a Hamiltonian cycle in random order plus a random perfect matching."""
    gen = np.random.default_rng(seed)
    perm = gen.permutation(d)
    cycle = np.stack([perm, np.roll(perm, -1)], 1)
    existing = set(map(tuple, np.sort(cycle, 1)))
    while True:
        m = gen.permutation(d).reshape(-1, 2)
        if not any(tuple(sorted(e)) in existing for e in m.tolist()):
            return np.concatenate([cycle, m])


@pytest.mark.parametrize("kind", ["tables", "potts"])
def test_regular_graph(compare, benchmark, full_size, kind):
    """Random 3-regular graph, d = 1e5, C = 4 (general tables or Potts), vs numpy chromatic."""
    d = pick(full_size, 100_000, 2_000)
    C = 4
    chains = 1
    sweeps = pick(full_size, 10, 2)
    edges = _regular3(d)
    gen = np.random.default_rng(2)
    pw = gen.normal(size=(len(edges), C, C)) * 0.5 if kind == "tables" else 0.8 * np.eye(C)
    model = fd.PairwiseMRF(gen.normal(size=(d, C)) * 0.3, edges, pw)
    colour = model.gibbs_plan.colour
    T = np.broadcast_to(model.pairwise, (len(edges), C, C))
    state = gen.integers(0, C, (chains, d))
    base_rng = np.random.default_rng(3)
    with fd.threads(1):
        compare(lambda: fd.gibbs(model, chains, sweeps, rng=0),
                lambda: slow.chromatic_gibbs(state, model.unary, edges, T, colour, sweeps, base_rng),
                d=d, C=C, chains=chains, sweeps=sweeps, colours=int(colour.max() + 1),
                kernel=f"gibbs-graph-{kind}")
    _record(benchmark, d * chains * sweeps)


@pytest.mark.parametrize("case", ["ising_128", "potts10_64", "graph_tables"])
def test_two_threads_8_chains(compare, benchmark, full_size, case):
    """8 chains on 2 threads; ``speedup`` = one-thread median / two-thread median (target >= 1.8)."""
    if case == "ising_128":
        L = pick(full_size, 128, 16)
        model, sweeps = fd.PairwiseMRF.grid((L, L), 2, 0.8), pick(full_size, 40, 2)
    elif case == "potts10_64":
        L = pick(full_size, 64, 16)
        model, sweeps = fd.PairwiseMRF.grid((L, L), 10, 1.0), pick(full_size, 40, 2)
    else:
        d = pick(full_size, 20_000, 1000)
        gen = np.random.default_rng(0)
        edges = _regular3(d)
        model = fd.PairwiseMRF(np.zeros((d, 4)), edges, gen.normal(size=(len(edges), 4, 4)))
        sweeps = pick(full_size, 10, 2)

    def one():
        with fd.threads(1):
            fd.gibbs(model, 8, sweeps, rng=0)

    with fd.threads(2):
        compare(lambda: fd.gibbs(model, 8, sweeps, rng=0), one, chains=8, case=case,
                kernel="gibbs-threads")
    _record(benchmark, model.n_dims * 8 * sweeps)


def test_time_to_first_result(benchmark, full_size):
    """Cold (fresh JIT cache, new process) and warm time to a first Gibbs result."""
    code = ("import time; t=time.perf_counter(); import fastdgm as fd; "
            "m=fd.PairwiseMRF.grid((64, 64), 2, 0.8); fd.gibbs(m, 4, 10, rng=0); "
            "print(time.perf_counter()-t)")
    if full_size:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
            cold = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                        text=True, check=True).stdout.split()[-1])
            cached = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                          text=True, check=True).stdout.split()[-1])
        benchmark.extra_info["cold_s"] = cold
        benchmark.extra_info["new_process_cached_s"] = cached
    m = fd.PairwiseMRF.grid((64, 64), 2, 0.8)
    fd.gibbs(m, 4, 10, rng=0)
    t = time.perf_counter()
    benchmark(lambda: fd.gibbs(m, 4, 10, rng=0))
    benchmark.extra_info["warm_s"] = time.perf_counter() - t if not benchmark.enabled else \
        benchmark.stats.stats.median
