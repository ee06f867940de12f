"""Gibbs sweeps vs the strongest numpy heat-bath baselines: lattices, Potts q, general graphs, threads.

Full size: ``pytest benchmarks/bench_gibbs.py --benchmark-enable``. Each case is one
pytest-benchmark group of implementations (``impl``): ``fastdgm``; ``numpy`` (Ising: int8
spins and a probability table; Potts: per-state neighbour counts; graphs: a chromatic
gather sweep); ``floor_uniforms`` (drawing one uniform per site update with fastdgm's
counter generator). ``extra_info['updates']`` = site updates per call.
"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench import cases
from fastdgm.slow import baselines as base
from conftest import pick, timed
import floors

LATTICE = ["fastdgm", "numpy", "floor_uniforms"]


def _lattice(measure, impl, group, L, q, beta, chains, sweeps, kernel):
    """fastdgm and numpy: the ``gibbs-potts`` case of ``fastdgm bench`` (fastdgm.bench.cases)."""
    case = cases.setup("gibbs-potts", L=L, C=q, chains=chains, sweeps=sweeps, beta=beta)
    fns = {**case.fns, "floor_uniforms": floors.uniforms(L * L * chains * sweeps)}
    with fd.threads(1):
        measure(group, impl, fns, L=L, q=q, chains=chains, sweeps=sweeps, kernel=kernel,
                updates=L * L * chains * sweeps)


@pytest.mark.parametrize("impl", LATTICE)
def test_ising_256(measure, full_size, impl):
    """Ising (C = 2) 256x256, one chain, default gibbs call, one thread."""
    _lattice(measure, impl, "gibbs-ising-256", pick(full_size, 256, 32), 2, 0.44, 1, pick(full_size, 40, 2),
             "gibbs-ising")


@pytest.mark.parametrize("impl", LATTICE)
def test_potts_q10_128(measure, full_size, impl):
    """Potts q = 10 on 128x128, one chain, one thread."""
    _lattice(measure, impl, "gibbs-potts10-128", pick(full_size, 128, 16), 10, 1.0, 1, pick(full_size, 40, 2),
             "gibbs-potts")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("q", [3, 5, 20, 50])
def test_potts_cost_flat_in_q(measure, full_size, q, impl):
    """Cost per update as q grows (O(degree) Potts update), 128x128, one thread."""
    if not full_size and q not in (3, 50):
        pytest.skip("the single CI pass runs q = 3 and 50 only")
    _lattice(measure, impl, f"gibbs-potts{q}-128", pick(full_size, 128, 16), q, 1.0, 1, pick(full_size, 20, 2),
             "gibbs-potts-q")


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


@pytest.mark.parametrize("impl", LATTICE)
@pytest.mark.parametrize("kind", ["tables", "potts"])
def test_regular_graph(measure, full_size, kind, impl):
    """Random 3-regular graph, d = 1e5, C = 4 (general tables or Potts), vs the numpy chromatic sweep."""
    d = pick(full_size, 100_000, 2_000)
    C, chains, sweeps = 4, 1, pick(full_size, 10, 2)
    edges = _regular3(d)
    gen = np.random.default_rng(2)
    pw = gen.normal(size=(len(edges), C, C)) * 0.5 if kind == "tables" else 0.8 * np.eye(C)
    model = fd.PairwiseMRF(gen.normal(size=(d, C)) * 0.3, edges, pw)
    colour = model.gibbs_plan.colour
    T = np.broadcast_to(model.pairwise, (len(edges), C, C))
    state = gen.integers(0, C, (chains, d)).astype(np.uint8)
    base_rng = np.random.default_rng(3)
    fns = {"fastdgm": lambda: fd.gibbs(model, chains, sweeps, rng=0),
           "numpy": lambda: base.chromatic_gibbs(state, model.unary, edges, T, colour, sweeps, base_rng),
           "floor_uniforms": floors.uniforms(d * chains * sweeps)}
    with fd.threads(1):
        measure(f"gibbs-graph-{kind}", impl, fns, d=d, C=C, chains=chains, sweeps=sweeps,
                colours=int(colour.max() + 1), kernel=f"gibbs-graph-{kind}", updates=d * chains * sweeps)


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_1thread"])
@pytest.mark.parametrize("case", ["ising_128", "potts10_64", "graph_tables"])
def test_two_threads_8_chains(measure_threads, full_size, case, impl):
    """8 chains on 2 threads (``fastdgm``) vs one thread (``fastdgm_1thread``); target ratio >= 1.8."""
    if case == "ising_128":
        L = pick(full_size, 128, 16)
        model, sweeps = fd.PairwiseMRF.grid((L, L), 2, 0.44), pick(full_size, 40, 2)
    elif case == "potts10_64":
        L = pick(full_size, 64, 16)
        model, sweeps = fd.PairwiseMRF.grid((L, L), 10, 1.0), pick(full_size, 40, 2)
    else:
        d = pick(full_size, 20_000, 1000)
        gen = np.random.default_rng(0)
        edges = _regular3(d)
        model = fd.PairwiseMRF(np.zeros((d, 4)), edges, gen.normal(size=(len(edges), 4, 4)))
        sweeps = pick(full_size, 10, 2)

    def run(n):
        def f():
            with fd.threads(n):
                fd.gibbs(model, 8, sweeps, rng=0)
        return f

    measure_threads(f"gibbs-threads-{case}", impl, run, chains=8, case=case, kernel="gibbs-threads",
                    updates=model.n_dims * 8 * sweeps)


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
    timed(benchmark, lambda: fd.gibbs(m, 4, 10, rng=0))
    benchmark.extra_info["warm_s"] = time.perf_counter() - t if not benchmark.enabled else \
        benchmark.stats.stats.median
