"""Thresholding kernels vs numpy, torch CPU and scipy UNU.RAN: one distribution, batches, threads.

Full size: ``pytest benchmarks/bench_sampling.py --benchmark-enable``. Each case is one
pytest-benchmark group of implementations (``impl``); ``benchmarks/report.py`` gives the
ratios. Floors: ``floor_uniforms`` (one uniform per draw, fastdgm's counter generator),
``floor_read`` (``P.sum()``: reading the input once).
"""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench import cases
from fastdgm.slow import baselines as base
from conftest import pick, torch_threads_1
import floors

C_SINGLE = [2, 4, 16, 256, 4096, 65536]
BATCHES = [(10**6, 4), (10**6, 32), (10**5, 256)]


def _p(C):
    return np.random.default_rng(C).random(C) + 0.01


def _torch(make):
    """A lazily-built torch baseline (one thread); skips the test when torch is absent."""
    def f():
        torch = torch_threads_1()
        return make(torch)
    return f


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "scipy_guide", "scipy_alias", "torch", "floor_uniforms"])
@pytest.mark.parametrize("C", C_SINGLE)
def test_single_distribution(measure, full_size, C, impl):
    """One distribution, n draws, one thread: vs Generator.choice, scipy's guide/alias, torch.multinomial."""
    from scipy.stats import sampling as ss

    n = pick(full_size, 5 * 10**6, 10**4)
    case = cases.setup("categorical-single", n=n, C=C)       # fastdgm and numpy: the case of fastdgm bench
    p, rng = case.data["p"], case.data["rng"]
    pn = p / p.sum()
    fns = {**case.fns,
           "scipy_guide": lambda: ss.DiscreteGuideTable(pn, random_state=rng).rvs(n),
           "scipy_alias": lambda: ss.DiscreteAliasUrn(pn, random_state=rng).rvs(n),
           "floor_uniforms": floors.uniforms(n)}
    if impl == "torch":
        torch = torch_threads_1()
        pt, gen = torch.from_numpy(pn), torch.Generator().manual_seed(0)
        fns["torch"] = lambda: base.torch_multinomial_single(pt, n, gen)
    with fd.threads(1):
        measure(f"categorical-single-C{C}", impl, fns, C=C, n=n, kernel="categorical-single")


@pytest.mark.parametrize("method", ["scan", "bisect", "guide", "alias"])
@pytest.mark.parametrize("C", [16, 256, 4096])
def test_single_methods(measure, full_size, C, method):
    """The four searches on one distribution (for the choice made by method='auto')."""
    n = pick(full_size, 2 * 10**6, 10**4)
    p = _p(C)
    with fd.threads(1):
        measure(f"categorical-method-C{C}-{method}", "fastdgm",
                {"fastdgm": lambda: fd.categorical(p, size=n, rng=1, method=method)},
                C=C, n=n, method=method, kernel="categorical-method")


ROWS = ["fastdgm", "numpy", "torch_multinomial", "torch_categorical", "floor_uniforms", "floor_read"]


@pytest.mark.parametrize("impl", ROWS)
@pytest.mark.parametrize("n, C", BATCHES)
def test_batched(measure, full_size, n, C, impl):
    """One draw per row of P (n, C), rows normalised: vs the numpy idiom, torch, and P.sum() alone."""
    if not full_size:
        n = 1000
    case = cases.setup("categorical-batched", n=n, C=C)      # fastdgm and numpy: the case of fastdgm bench
    P = case.data["P"]
    fns = {**case.fns, "floor_uniforms": floors.uniforms(n), "floor_read": floors.read(P)}
    if impl.startswith("torch"):
        torch = torch_threads_1()
        Pt, gen = torch.from_numpy(P), torch.Generator().manual_seed(0)
        fns["torch_multinomial"] = lambda: base.torch_multinomial_rows(Pt, gen)
        fns["torch_categorical"] = lambda: base.torch_categorical_rows(Pt)
    with fd.threads(1):
        measure(f"categorical-rows-{n:.0e}x{C}", impl, fns, C=C, n=n, kernel="categorical-batched")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "torch_categorical", "floor_uniforms", "floor_read"])
@pytest.mark.parametrize("n, C", [(10**5, 256), (10**6, 32)])
def test_batched_logits(measure, full_size, n, C, impl):
    """One draw per row of logits: vs numpy softmax + the idiom, and torch Categorical(logits=)."""
    if not full_size:
        n = 1000
    L = np.random.default_rng(0).standard_normal((n, C))
    u = np.random.default_rng(1).random(n)
    fns = {"fastdgm": lambda: fd.categorical(logits=L, rng=1), "numpy": lambda: base.categorical_logits(L, u),
           "floor_uniforms": floors.uniforms(n), "floor_read": floors.read(L)}
    if impl.startswith("torch"):
        torch = torch_threads_1()
        Lt = torch.from_numpy(L)
        fns["torch_categorical"] = lambda: base.torch_categorical_logits(Lt)
    with fd.threads(1):
        measure(f"categorical-logits-{n:.0e}x{C}", impl, fns, C=C, n=n, kernel="categorical-batched-logits")


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_1thread"])
def test_threads_single(measure_threads, full_size, impl):
    """10^7 draws of one distribution (C = 256) on 2 threads vs 1."""
    n = pick(full_size, 10**7, 10**4)
    p = _p(256)

    def run(t):
        def f():
            with fd.threads(t):
                fd.categorical(p, size=n, rng=1)
        return f

    measure_threads("threads-categorical-single", impl, run, C=256, n=n, kernel="categorical-threads")


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_1thread"])
def test_threads_batched(measure_threads, full_size, impl):
    n = pick(full_size, 10**6, 1000)
    P = np.random.default_rng(0).random((n, 32))

    def run(t):
        def f():
            with fd.threads(t):
                fd.categorical(P, rng=1)
        return f

    measure_threads("threads-categorical-rows", impl, run, C=32, n=n, kernel="categorical-batched-threads")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("d", [2, 4, 6, 8, 10])
def test_joint_grows_exponentially(measure, full_size, d, impl):
    """The direct O(C^d) sampler (C = 4): cost grows as C^d — why Gibbs exists."""
    if not full_size and d > 6:
        d = 6
    case = cases.setup("sample-joint", cells=4**d)
    measure(f"sample-joint-d{d}", impl, case.fns, C=4, d=d, kernel="sample-joint")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy_interp"])
@pytest.mark.parametrize("C", [64, 4096])
def test_density(measure, full_size, C, impl):
    n = pick(full_size, 10**6, 1000)
    grid = np.linspace(-4, 4, C)
    dens = np.exp(-grid**2 / 2)
    rng = np.random.default_rng(0)

    def numpy_inverse():   # numpy's interp of the tabulated CDF (approximate, for scale only)
        cdf = np.concatenate([[0], np.cumsum(np.diff(grid) * (dens[1:] + dens[:-1]) / 2)])
        return np.interp(rng.random(n), cdf / cdf[-1], grid)

    with fd.threads(1):
        measure(f"sample-density-C{C}", impl, {"fastdgm": lambda: fd.sample_density(grid, dens, size=n, rng=0),
                                              "numpy_interp": numpy_inverse}, C=C, n=n, kernel="sample-density")
