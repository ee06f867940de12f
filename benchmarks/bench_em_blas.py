"""EM at BLAS speed (issue 20): one Mixture EM iteration against the two-GEMM numpy iteration,
and the HiddenChowLiuTree GEMM E-step's GFLOP/s next to the machine's DGEMM/SGEMM rates.

Everything on one thread (fastdgm and BLAS). Each case times fastdgm and its baseline
interleaved in the same run (``paired`` below: alternating calls, medians) and records
``extra_info['ratio']`` = numpy median / fastdgm median; pytest-benchmark times the fastdgm
call. ``python benchmarks/bench_em_blas.py`` prints the same figures as a table.

Mixture shapes: the wide sets of the density benchmark (random binary data of their (n, d),
K = 20: the timing does not depend on the values) and the six shared sets under
``../shared/data/density`` (skipped when absent). HCLT: the E-step (``em_statistics``) at
K = 16 (per-row kernel) and 64, 128, 256 (GEMM), 6 K^2 (d - 1) flops per row, in float64
(``precision="float64"``, against the DGEMM rate) and float32 (``"float32"``, the default from
K = 64, against the SGEMM rate), each rate measured in the same run at the E-step's shape.
"""
import os
import pathlib
import time

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench.density import em_iteration_ratio
from fastdgm.bench.timing import interleaved_times

try:
    from conftest import blas_threads_1, pick, timed
except ImportError:                       # run as a script from elsewhere
    import contextlib

    def blas_threads_1():
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return contextlib.nullcontext()
        return threadpool_limits(1)

    def pick(full, big, small):
        return big

    def timed(benchmark, fn):
        return benchmark(fn)

_SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "density"
DATA_HOME = os.environ.get("FASTDGM_DATA") or next(
    (str(p) for p in (_SHARED, pathlib.Path("/work/shared/data/density")) if p.is_dir()), str(_SHARED))
SHARED_SETS = ["nltcs", "plants", "accidents", "kdd", "msweb", "c20ng"]
WIDE = {"dna": (1600, 180), "book": (8700, 500), "webkb": (2803, 839), "reuters-52": (6532, 889),
        "bbc": (1670, 1058), "ad": (2461, 1556)}
HCLT_K = [16, 64, 128, 256]


def paired(fns: dict, rounds: int = 5) -> dict:
    """Median seconds of each callable, called in alternation (the timer of ``fastdgm bench``)."""
    return interleaved_times(fns, rounds)


def _wide_data(name):
    n, d = WIDE[name]
    rng = np.random.default_rng(d)
    p = rng.beta(0.5, 4.0, size=d)                      # sparse, text-like columns
    return (rng.random((n, d)) < p).astype(np.uint8)


def _shared_data(name):
    from fastdgm.density_data import load_density_benchmark

    try:
        return load_density_benchmark(name, data_home=DATA_HOME)[0]
    except FileNotFoundError:
        pytest.skip(f"density data set {name} not under {DATA_HOME}")


def mixture_case(X, K=20, rounds=5):
    """(fastdgm median s, numpy median s) of one EM iteration, one thread: the case of
    ``fastdgm bench --density`` (:func:`fastdgm.bench.density.em_iteration_ratio`)."""
    r = em_iteration_ratio(X, n_components=K, rounds=rounds)
    return r["fastdgm_s"], r["numpy_s"]


def _hclt_model(d, K, C=2, seed=0):
    from fastdgm.models.hclt import HiddenChowLiuTree

    rng = np.random.default_rng(seed)
    parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)])
    return HiddenChowLiuTree(parent, rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=(d, K)),
                             rng.dirichlet(np.ones(C), size=(d, K)))


def gemm_rates(K, B=256, seconds=0.3):
    """(DGEMM, SGEMM) GFLOP/s of (B x K) @ (K x K), one thread: the machine's rate at the E-step's shape."""
    out = []
    for dt in (np.float64, np.float32):
        a, b = np.random.rand(B, K).astype(dt), np.random.rand(K, K).astype(dt)
        c = np.empty((B, K), dtype=dt)
        with blas_threads_1():
            np.matmul(a, b, out=c)
            t0, r = time.perf_counter(), 0
            while time.perf_counter() - t0 < seconds:
                np.matmul(a, b, out=c)
                r += 1
            out.append(2.0 * B * K * K * r / (time.perf_counter() - t0) / 1e9)
    return tuple(out)


def hclt_case(n, d, K, rounds=3, precision="float64"):
    """(E-step median s, GFLOP/s, DGEMM GFLOP/s, SGEMM GFLOP/s), one thread; the GEMM rates
    measured right after the E-step, in the same run."""
    m = _hclt_model(d, K)
    X = m.sample(n, rng=1)
    ctx = {"precision": precision}
    with fd.threads(1):
        t = paired({"estep": lambda: m.em_statistics(X, context=ctx)}, rounds)["estep"]
    dg, sg = gemm_rates(K)
    return t, 6.0 * K * K * (d - 1) * n / t / 1e9, dg, sg


@pytest.mark.parametrize("name", list(WIDE))
def test_mixture_em_wide(benchmark, full_size, name):
    """One EM iteration (K = 20) on random binary data of a wide set's shape vs numpy's two GEMMs."""
    X = _wide_data(name)
    if not full_size:
        X = X[:300]
    t_fd, t_np = mixture_case(X, rounds=pick(full_size, 5, 1))
    benchmark.extra_info.update(n=X.shape[0], d=X.shape[1], K=20, ratio=t_np / t_fd, numpy_s=t_np,
                                kernel="mixture-em-blas")
    m = fd.Mixture.fit(X[:2000], n_components=20, n_states=2, rng=0, max_iter=2)
    with fd.threads(1), blas_threads_1():
        timed(benchmark, lambda: m.em_statistics(X))


@pytest.mark.parametrize("name", SHARED_SETS)
def test_mixture_em_shared(benchmark, full_size, name):
    """One EM iteration (K = 20) on a shared density set vs numpy's two GEMMs."""
    X = _shared_data(name)
    if not full_size:
        X = X[:300]
    t_fd, t_np = mixture_case(X, rounds=pick(full_size, 5, 1))
    benchmark.extra_info.update(n=X.shape[0], d=X.shape[1], K=20, ratio=t_np / t_fd, numpy_s=t_np,
                                kernel="mixture-em-blas")
    m = fd.Mixture.fit(X[:2000], n_components=20, n_states=2, rng=0, max_iter=2)
    with fd.threads(1), blas_threads_1():
        timed(benchmark, lambda: m.em_statistics(X))


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("K", HCLT_K)
def test_hclt_estep_gflops(benchmark, full_size, K, precision):
    """HCLT E-step GFLOP/s (d = 64, binary) next to the DGEMM/SGEMM rate of (256 x K) @ (K x K)."""
    n, d = pick(full_size, 2000, 64), 64
    t, gf, dg, sg = hclt_case(n, d, K, rounds=pick(full_size, 3, 1), precision=precision)
    benchmark.extra_info.update(n=n, d=d, K=K, precision=precision, gflops=gf, dgemm_gflops=dg,
                                sgemm_gflops=sg, fraction_of_dgemm=gf / dg, fraction_of_sgemm=gf / sg,
                                kernel="hclt-estep-gemm")
    m = _hclt_model(d, K)
    X = m.sample(n, rng=1)
    with fd.threads(1):
        timed(benchmark, lambda: m.em_statistics(X, context={"precision": precision}))


def hclt_paths(X, K, rounds=3, threads=1):
    """Median seconds of the HCLT E-step on X by each path, interleaved in one run:
    ``{"per-row": ..., "gemm-float64": ..., "gemm-float32": ...}`` (the cost model of
    :mod:`fastdgm.kernels.hclt_gemm` chooses among them: ``GEMM_MIN_K``, ``F32_MIN_K``)."""
    from fastdgm.kernels import hclt_gemm as HG

    m = fd.HiddenChowLiuTree.fit(X[:300], n_hidden=K, n_states=2, rng=0, max_iter=1)
    saved = HG.GEMM_MIN_K

    def path(min_k, precision):
        def run():
            HG.GEMM_MIN_K = min_k
            try:
                m.em_statistics(X, context={"precision": precision})
            finally:
                HG.GEMM_MIN_K = saved
        return run

    with fd.threads(threads):
        return paired({"per-row": path(10 ** 9, "float64"), "gemm-float64": path(1, "float64"),
                       "gemm-float32": path(1, "float32")}, rounds)


@pytest.mark.parametrize("K", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("name", ["nltcs", "plants", "accidents", "c20ng"])
def test_hclt_path_crossover(benchmark, full_size, name, K):
    """HCLT E-step on a shared set by the per-row kernel and by the GEMM path (float64, float32),
    one thread: where ``GEMM_MIN_K`` and ``F32_MIN_K`` come from (ratios in ``extra_info``)."""
    X = _shared_data(name)
    if not full_size:
        X = X[:300]
    t = hclt_paths(X, K, rounds=pick(full_size, 3, 1))
    benchmark.extra_info.update(n=X.shape[0], d=X.shape[1], K=K, kernel="hclt-estep-paths",
                                **{f"{k}_s": v for k, v in t.items()},
                                row_over_gemm64=t["per-row"] / t["gemm-float64"],
                                gemm64_over_gemm32=t["gemm-float64"] / t["gemm-float32"])
    m = fd.HiddenChowLiuTree.fit(X[:300], n_hidden=K, n_states=2, rng=0, max_iter=1)
    with fd.threads(1):
        timed(benchmark, lambda: m.em_statistics(X))


if __name__ == "__main__":
    print("Mixture EM iteration, K = 20, one thread: fastdgm vs numpy two-GEMM (medians, interleaved)")
    rows = [(nm, _wide_data(nm)) for nm in WIDE]
    for nm in SHARED_SETS:
        try:
            rows.append((nm, _shared_data(nm)))
        except BaseException:              # pytest.skip outside pytest
            print(f"  {nm}: absent")
    for nm, X in rows:
        t_fd, t_np = mixture_case(X)
        print(f"  {nm:12s} n={X.shape[0]:6d} d={X.shape[1]:5d}  fastdgm {t_fd * 1e3:8.1f} ms  "
              f"numpy {t_np * 1e3:8.1f} ms  numpy/fastdgm {t_np / t_fd:5.2f}", flush=True)
    print("HCLT E-step, d = 64, binary, one thread (float64 against DGEMM, float32 against SGEMM)")
    for K in HCLT_K:
        n = 2000 if K <= 128 else 1000
        for prec in ("float64", "float32"):
            t, gf, dg, sg = hclt_case(n, 64, K, precision=prec)
            ref, name = (dg, "DGEMM") if prec == "float64" else (sg, "SGEMM")
            print(f"  K={K:4d} n={n} {prec}  {t:7.3f} s  {gf:6.1f} GFLOP/s   DGEMM {dg:6.1f}  SGEMM {sg:6.1f}   "
                  f"{100 * gf / ref:5.1f}% of {name}", flush=True)
    print("HCLT E-step paths on the shared sets, one thread (medians, interleaved)")
    for nm in ("nltcs", "plants", "accidents", "c20ng"):
        try:
            X = _shared_data(nm)
        except BaseException:              # pytest.skip outside pytest
            continue
        for K in (2, 4, 8, 16, 32):
            t = hclt_paths(X, K)
            print(f"  {nm:10s} K={K:3d}  " + "  ".join(f"{k} {v:7.3f} s" for k, v in t.items())
                  + f"   per-row/gemm64 {t['per-row'] / t['gemm-float64']:4.2f}"
                  + f"   gemm64/gemm32 {t['gemm-float64'] / t['gemm-float32']:4.2f}", flush=True)
