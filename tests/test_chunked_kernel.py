"""``chunked_kernel``: the decorator that owns the scheduling of the chunked kernels.

Every chunk is run once with its own item range, on any thread count and in the serial twin;
the generated drivers are cached under their own names and load from the cache in a new
process without compiling.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels import parallel
from fastdgm.kernels.parallel import chunked_kernel
from isolated import ROOT



def _unregistered(k):
    """Keep a test kernel out of the package's registry (warm-up and the slow-twin registry)."""
    parallel._registry.remove(k)
    return k


@_unregistered
@chunked_kernel(items="out.shape[0]", chunk="per")
def _mark(c, start, stop, per, out, count):
    for i in range(start, stop):
        out[i] = c
        count[i] += 1


def _expected(n, per):
    return np.arange(n) // per


@pytest.mark.parametrize("n, per", [(0, 3), (1, 1), (7, 3), (9, 3), (1000, 7), (5, 64)])
def test_every_item_once_in_its_chunk(n, per):
    for run in (_mark.serial, lambda *a: _mark(*a)):
        for t in (1, 2):
            out = np.full(n, -1, np.int64)
            count = np.zeros(n, np.int64)
            with fd.threads(t):
                run(per, out, count)
            np.testing.assert_array_equal(out, _expected(n, per))
            np.testing.assert_array_equal(count, np.ones(n, np.int64))


def test_work_size_argument_and_registry():
    @_unregistered
    @chunked_kernel(items="out.shape[0]", chunk=4, serial_below=100)
    def marks(c, start, stop, out):
        for i in range(start, stop):
            out[i] = c

    for work in (1, 1000):                   # below serial_below: a team of one
        out = np.full(10, -1, np.int64)
        marks(work, out)
        np.testing.assert_array_equal(out, np.arange(10) // 4)
    assert marks.__name__ == "marks"
    assert marks.py_func.__qualname__.endswith("marks_driver")
    assert marks.serial.py_func.__qualname__.endswith("marks_driver_serial")


def test_body_signature_is_checked():
    with pytest.raises(TypeError, match=r"\(c, start, stop, \*arrays\)"):
        chunked_kernel(lambda i, j, k, out: None, items="out.shape[0]")
    with pytest.raises(TypeError, match="todo_"):
        chunked_kernel(lambda c, start, stop, todo_: None, items="todo_.shape[0]")


_MODULE = '''
import numpy as np
from fastdgm.kernels.parallel import chunked_kernel


@chunked_kernel(items="X.shape[0]", chunk=5)
def row_sums(c, start, stop, X, out):
    for i in range(start, stop):
        s = 0.0
        for j in range(X.shape[1]):
            s += X[i, j]
        out[i] = s
'''

_RUN = '''
import numpy as np
import toy_kernels
X = np.arange(60.0).reshape(20, 3)
out = np.empty(20)
toy_kernels.row_sums(X, out)
toy_kernels.row_sums.serial(X, out)
assert np.array_equal(out, X.sum(axis=1))
'''


def test_drivers_load_from_the_cache_in_a_new_process(tmp_path):
    (tmp_path / "toy_kernels.py").write_text(textwrap.dedent(_MODULE))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]),
               NUMBA_CACHE_DIR=str(tmp_path / "cache"), NUMBA_DEBUG_CACHE="1")

    def run():
        # ROOT (the fastdgm in use) and cwd away from a checkout: its unbuilt source must not shadow it
        p = subprocess.run([sys.executable, "-c", _RUN], env=env, capture_output=True, text=True, timeout=600,
                           cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        return p.stdout + p.stderr

    first = run()
    assert "row_sums_driver-" in first and "row_sums_driver_serial-" in first     # two cache entries
    assert "data saved" in first
    second = run()
    assert "data saved" not in second                                            # nothing compiled again
    assert second.count("data loaded") >= 2
