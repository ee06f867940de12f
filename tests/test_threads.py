"""The adaptive default thread count (shared machines) and its overrides."""
import pytest

import fastdgm as fd
from fastdgm.kernels import threads as th


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(th, "_adapt_cache", [float("-inf"), 0])
    monkeypatch.setattr(th, "_default_threads", None)
    monkeypatch.delenv("FASTDGM_ADAPTIVE_THREADS", raising=False)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return monkeypatch


def test_busy_machine_gives_one_thread(fresh):
    fresh.setattr(th, "_busy_elsewhere", lambda: 10**6)
    assert fd.get_num_threads() == 1


def test_idle_machine_gives_all_cpus(fresh):
    fresh.setattr(th, "_busy_elsewhere", lambda: 0)
    assert fd.get_num_threads() == th._cpus()


def test_partly_busy(fresh):
    fresh.setattr(th, "_cpus", lambda: 8)
    fresh.setattr(th, "_busy_elsewhere", lambda: 3)
    assert fd.get_num_threads() == 5


def test_unknown_load_and_opt_out(fresh):
    fresh.setattr(th, "_cpus", lambda: 4)
    fresh.setattr(th, "_busy_elsewhere", lambda: None)
    assert fd.get_num_threads() == 4
    fresh.setattr(th, "_adapt_cache", [float("-inf"), 0])
    fresh.setattr(th, "_busy_elsewhere", lambda: 10**6)
    fresh.setenv("FASTDGM_ADAPTIVE_THREADS", "0")
    assert fd.get_num_threads() == 4
    fresh.setenv("OMP_NUM_THREADS", "3")
    assert fd.get_num_threads() == 3           # the environment caps the count


def test_explicit_count_wins(fresh):
    fresh.setattr(th, "_busy_elsewhere", lambda: 10**6)
    with fd.threads(2):
        assert fd.get_num_threads() == 2
    fd.set_num_threads(3)
    try:
        assert fd.get_num_threads() == 3
    finally:
        th._default_threads = None


def test_busy_elsewhere_reads_proc():
    b = th._busy_elsewhere()
    assert b is None or b >= 0
