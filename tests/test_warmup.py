"""fastdgm.warmup: in the background, by part, and on every worker of a dask cluster without
blocking the workers' event loops (the README's cluster recipe, with an empty JIT cache)."""
import os
import threading

import pytest

import fastdgm as fd
from fastdgm import _warmup


def test_background_returns_before_the_warmup_ends(monkeypatch):
    started, release = threading.Event(), threading.Event()

    def slow(verbose, kinds):
        started.set()
        assert release.wait(30)
        return 1.5

    monkeypatch.setattr(_warmup, "_run", slow)
    fut = fd.warmup(background=True)
    assert started.wait(30) and not fut.done()       # running, and the caller got control back
    release.set()
    assert fut.result(timeout=30) == 1.5


def test_background_hands_errors_to_the_future(monkeypatch):
    def broken(verbose, kinds):
        raise RuntimeError("compile failed")

    monkeypatch.setattr(_warmup, "_run", broken)
    with pytest.raises(RuntimeError, match="compile failed"):
        fd.warmup(background=True).result(timeout=30)


def test_kinds_select_parts(monkeypatch):
    ran = []
    monkeypatch.setattr(_warmup, "_paths", lambda: [(k, lambda k=k: ran.append(k)) for k in _warmup.KINDS])
    fd.warmup(kinds=["gibbs", "sampling"])
    assert ran == ["sampling", "gibbs"]                # in the package's order
    fd.warmup(kinds="factorized")
    assert ran[-1] == "factorized"
    with pytest.raises(ValueError, match="kinds"):
        fd.warmup(kinds=["nonsense"])
    with pytest.raises(ValueError, match="kinds"):
        fd.warmup(kinds=[3])


def test_sampling_part_runs_for_real():
    assert fd.warmup(kinds=["sampling"]) >= 0


def test_cluster_recipe_with_an_empty_cache(tmp_path):
    """``fastdgm.dask.warmup(client)`` on 2 worker processes with an empty NUMBA_CACHE_DIR: one
    task per worker compiles into the cache; the workers stay alive and answer the scheduler."""
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    import fastdgm.dask as fdd

    root = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))
    cache = tmp_path / "numba-cache"
    env = {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""), "NUMBA_CACHE_DIR": str(cache)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)                              # the worker processes inherit them
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            before = sorted(client.scheduler_info()["workers"])
            assert not cache.exists() or not any(cache.rglob("*.nbi"))
            result = {}
            t = threading.Thread(target=lambda: result.update(fdd.warmup(client, kinds=["factorized"])))
            t.start()
            pids = set()
            while t.is_alive():                          # the event loops answer meanwhile
                pids.update(client.run(os.getpid).values())
                t.join(0.5)
            assert sorted(result) == before and all(s > 0 for s in result.values())
            assert sorted(client.scheduler_info()["workers"]) == before    # no worker restarted
            assert len(pids) == 2 and set(client.run(os.getpid).values()) == pids
            assert sorted(client.run(lambda: os.environ["NUMBA_CACHE_DIR"]).values()) == [str(cache)] * 2
            assert any(cache.rglob("*.nbi"))             # the kernels were compiled into the cache
            with pytest.raises(ValueError, match="kinds"):
                fdd.warmup(client, kinds=["nope"])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
