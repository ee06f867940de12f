"""One draw per row (csrc/row_draw.h): the AVX-512 kernels, the AVX2 ones, the portable ones
and a pure Python statement of the fused block scan give the same draws, bit for bit (each
path forced by FASTDGM_SIMD in a subprocess); the softmax exp (csrc/logit_weights.h) is
accurate to an ulp."""
import json
import subprocess
import sys

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._rng import make_key, uniform_ref
from fastdgm.kernels import _threshold as _k

from gof import ALPHA, g_test_pvalue
from isolated import ROOT, assert_clean_exit, isolated_env

SHAPES = [(1, 1), (9, 2), (17, 3), (33, 4), (8, 5), (16, 8), (25, 9), (40, 16), (19, 24), (24, 32),
          (9, 37), (8, 256), (3, 257)]


def _block_scan_ref(w, u):
    """The draw of row w with uniform u, as documented in csrc/row_draw.h (Python floats)."""
    C = len(w)
    bs = []
    for b in range(0, C, 8):
        p = [float(x) for x in w[b:b + 8]]
        if len(p) == 8:
            bs.append(((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])))
        else:
            s = 0.0
            for x in p:
                s += x
            bs.append(s)
    pre, acc = [], 0.0
    for s in bs:
        acc += s
        pre.append(acc)
    target = u * acc
    b = sum(target >= x for x in pre[:-1])
    acc = pre[b - 1] if b > 0 else 0.0
    res = 8 * b
    for k in range(8 * b, min(8 * b + 8, C) - 1):
        acc += float(w[k])
        res += target >= acc
    if w[res] > 0:
        return res
    pos = [k for k in range(C) if w[k] > 0]
    later = [k for k in pos if k > res]
    return later[0] if later else pos[-1]


def _weights(n, C, seed):
    rng = np.random.default_rng(seed)
    P = rng.random((n, C)) * 10.0 ** rng.integers(-300, 300, (n, 1))
    P[rng.random((n, C)) < 0.3] = 0.0
    P[np.arange(n), rng.integers(0, C, n)] = rng.random(n) + 1e-300
    return P


@pytest.mark.parametrize("n, C", SHAPES)
def test_rows_equal_the_python_statement(n, C):
    P = _weights(n, C, C)
    key = int(make_key(7))
    got = fd.categorical(P, rng=7)
    want = [_block_scan_ref(P[r], uniform_ref(key, r)) for r in range(n)]
    assert got.tolist() == want


def test_rows_at_the_top_of_the_levels():
    """u close to 1 with trailing zero weights: rounding lands past the last positive weight."""
    n, C = 4096, 4
    P = np.zeros((n, C))
    P[:, 0] = 1.0
    P[:, 1] = 2.0 ** -60
    assert np.all(fd.categorical(P, rng=0) <= 1)
    with np.errstate(divide="ignore"):
        logits = np.log(P)
    assert np.array_equal(fd.categorical(logits=logits, rng=0), fd.categorical(_k.logit_weights(logits), rng=0))


_CASES = """
import json, sys, numpy as np, fastdgm as fd
from fastdgm.kernels import _threshold as _k
out = {"path": _k.simd_path(), "cpu": _k.simd_cpu_path()}
rng = np.random.default_rng(0)
for n, C in [(1001, 2), (999, 3), (1001, 4), (1003, 5), (1000, 8), (997, 16), (1001, 17), (1003, 32),
             (999, 33), (201, 256), (50, 100), (7, 24), (3, 4)]:
    P = rng.random((n, C)) * 10.0 ** rng.integers(-300, 300, (n, 1))
    P[rng.random((n, C)) < 0.3] = 0.0
    P[np.arange(n), rng.integers(0, C, n)] = 1.0
    L = rng.standard_normal((n, C)) * 50
    L[rng.random((n, C)) < 0.2] = -np.inf
    L[np.arange(n), rng.integers(0, C, n)] = 0.0
    out[f"{n}x{C}"] = fd.categorical(P, rng=C).tolist()
    out[f"{n}x{C}f4"] = fd.categorical((P / P.max(1, keepdims=True)).astype(np.float32), rng=C).tolist()
    out[f"{n}x{C}lg"] = fd.categorical(logits=L, rng=C).tolist()
    out[f"{n}x{C}lg4"] = fd.categorical(logits=L.astype(np.float32), rng=C).tolist()
    out[f"{n}x{C}w"] = _k.logit_weights(L).tobytes().hex()
u = np.empty(1003)
_k.fill_uniforms(np.uint64(12345), np.uint64(7), u, 1)
out["uniforms"] = u.tobytes().hex()
# counts of draws from K known rows repeated (the G-tests run in the test process)
for C in (2, 3, 4, 8, 17, 32, 256):
    rows = rng.dirichlet(np.full(C, 0.5), size=3)
    rows[:, 0] = 0.0
    reps = max(20000, 40 * C)
    x = fd.categorical(np.tile(rows, (reps, 1)), rng=C).reshape(reps, 3)
    with np.errstate(divide="ignore"):
        lx = fd.categorical(logits=np.log(np.tile(rows, (reps, 1))), rng=C + 1).reshape(reps, 3)
    out[f"rows{C}"] = rows.tolist()
    out[f"counts{C}"] = [np.bincount(x[:, i], minlength=C).tolist() for i in range(3)]
    out[f"lcounts{C}"] = [np.bincount(lx[:, i], minlength=C).tolist() for i in range(3)]
print(json.dumps(out))
"""

_PATHS = ("portable", "avx2", "avx512")


def _run_cases(**env) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CASES], capture_output=True, text=True,
                          env=isolated_env(**env), timeout=600, cwd=ROOT)
    assert_clean_exit(proc)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def portable_run():
    return _run_cases(FASTDGM_SIMD="portable")


@pytest.mark.parametrize("cap", _PATHS + ("FASTDGM_NO_SIMD",))
def test_every_path_gives_the_portable_draws(cap, portable_run):
    """Under each forced path (FASTDGM_SIMD caps it at the CPU's best), the same draws,
    softmax weights and uniforms as the portable kernels, bit for bit, and draws that pass
    a G-test against the rows' probabilities."""
    run = dict(portable_run) if cap == "portable" else _run_cases(
        **({"FASTDGM_NO_SIMD": "1"} if cap == "FASTDGM_NO_SIMD" else {"FASTDGM_SIMD": cap}))
    ref = dict(portable_run)
    assert ref.pop("path") == "portable"
    best = run.pop("cpu")
    assert ref.pop("cpu") == best
    want = "portable" if cap in ("portable", "FASTDGM_NO_SIMD") else _PATHS[min(_PATHS.index(cap), _PATHS.index(best))]
    assert run.pop("path") == want
    assert run.keys() == ref.keys()
    for key in ref:
        assert run[key] == ref[key], key
    for key in (k for k in run if k.startswith("rows")):
        C = key[4:]
        for i, probs in enumerate(run[key]):
            for counts in (run[f"counts{C}"][i], run[f"lcounts{C}"][i]):
                assert g_test_pvalue(counts, probs) > ALPHA, (C, i)


def test_unknown_simd_value_warns_and_caps_nothing():
    proc = subprocess.run([sys.executable, "-W", "always", "-c",
                           "from fastdgm.kernels import _threshold as k; print(k.simd_path(), k.simd_cpu_path())"],
                          capture_output=True, text=True, env=isolated_env(FASTDGM_SIMD="sse9"), timeout=600,
                          cwd=ROOT)
    assert_clean_exit(proc)
    path, cpu = proc.stdout.split()
    assert path == cpu
    assert "FASTDGM_SIMD='sse9'" in proc.stderr


def test_show_config_names_the_path():
    import io

    buf = io.StringIO()
    fd.show_config(file=buf)
    assert f"SIMD kernels   {_k.simd_path()}" in buf.getvalue()


def test_invalid_rows_found_in_every_kernel():
    for C in (2, 4, 8, 32, 5):
        P = np.ones((64, C))
        P[37, C - 1] = -1e-300
        with pytest.raises(ValueError, match=r"p\[37, %d\]" % (C - 1)):
            fd.categorical(P)
        P[37, C - 1] = np.nan
        with pytest.raises(ValueError, match=r"p\[37, %d\] = nan" % (C - 1)):
            fd.categorical(P)
        P[37] = 0.0
        with pytest.raises(ValueError, match=r"p\[37\]"):
            fd.categorical(P)
        P[37] = -0.0
        P[37, 0] = 1.0
        assert np.all(fd.categorical(P, rng=1)[37] == 0)


def test_softmax_exp_within_an_ulp():
    x = -np.concatenate([np.linspace(0, 746, 100_001), np.random.default_rng(0).random(10_000) * 40,
                         [np.inf, 708.4, 709.0, 744.0, 745.0, 745.2, 1e300]])
    W = _k.logit_weights(np.concatenate([[0.0], x]).reshape(1, -1))[0, 1:]
    ref = np.exp(x)
    assert np.all(np.abs(W - ref) <= np.spacing(ref))
    assert W[-1] == 0.0 and W[-7] == 0.0
    assert np.all(_k.logit_weights(np.array([[0.0, np.nan], [-np.inf, -np.inf], [1.0, np.inf]]))[:, 0] == -1.0)
