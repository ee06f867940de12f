"""Fork safety: after parallel kernels ran (GNU OpenMP in the Cython extension, numba's
threading layer), a ``fork`` child runs the kernels single-threaded and gets the parent's
results; ``multiprocessing.Pool`` with fork returns. Run in a subprocess with a timeout, so a
hang or a killed child fails the test instead of freezing the suite."""
import os
import subprocess
import sys
import textwrap

import isolated
import pytest

SCRIPT = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    import fastdgm as fd
    from fastdgm.kernels.threads import in_forked_child

    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(100_000, 16)).astype(np.uint8)
    model = fd.Factorized.fit(X)            # numba parallel reductions
    P = rng.random((5000, 40))

    def job(seed):
        cy = fd.categorical(np.ones(50), size=200_000, rng=seed)   # Cython prange
        cyb = fd.categorical(P, rng=seed)                          # Cython parallel rows
        lp = model.log_prob(X)                                     # numba parallel
        s = model.sample(50_000, rng=seed)                         # numba parallel
        return (int(cy.sum()), int(cyb.sum()), float(lp.sum()), int(s.sum()),
                in_forked_child(), fd.get_num_threads())

    if __name__ == "__main__":
        fd.set_num_threads(2)
        parent = [job(s)[:4] for s in (1, 2)]          # parallel runtimes now initialised
        with mp.get_context("fork").Pool(2) as pool:
            child = pool.map(job, [1, 2])
        assert [c[:4] for c in child] == parent, (child, parent)
        assert all(c[4] and c[5] == 1 for c in child), child
        pid = __import__("os").fork()                  # a bare fork too
        if pid == 0:
            ok = job(1)[:4] == parent[0]
            __import__("os")._exit(0 if ok else 3)
        _, status = __import__("os").waitpid(pid, 0)
        assert __import__("os").waitstatus_to_exitcode(status) == 0, status
        assert job(1)[:4] == parent[0] and not in_forked_child()   # parent unaffected
        print("OK")
""")


def _has_omp_layer() -> bool:
    try:
        import numba.np.ufunc.omppool  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("layer", ["default", "omp"])
def test_fork_after_parallel_kernels(layer, tmp_path):
    if layer == "omp" and not _has_omp_layer():
        pytest.skip("numba's omp threading layer is not available")
    script = tmp_path / "fork_job.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env.pop("NUMBA_THREADING_LAYER", None)
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    env["PYTHONPATH"] = isolated.ROOT + os.pathsep + env.get("PYTHONPATH", "")
    try:
        r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                           timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("a forked child hung after parallel kernels ran")
    assert r.returncode == 0 and "OK" in r.stdout, (r.returncode, r.stdout, r.stderr[-3000:])


def test_threads_in_parent_unaffected():
    import fastdgm as fd
    from fastdgm.kernels.threads import in_forked_child

    assert not in_forked_child()
    with fd.threads(2):
        assert fd.get_num_threads() == 2
