"""The adaptive default thread count (shared machines, HPC nodes, containers) and its overrides.

The readers of fastdgm/kernels/cpu_budget.py run on fake /proc and /sys trees built in tmp_path.
"""
import os

import pytest

import fastdgm as fd
from fastdgm.kernels import cpu_budget as cb
from fastdgm.kernels import threads as th


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(th, "_adapt_cache", [float("-inf"), None, None])
    monkeypatch.setattr(th, "_default_threads", None)
    for var in ("FASTDGM_ADAPTIVE_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def _write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _stat_lines(busy, idle):
    """/proc/stat with per-CPU (busy, idle) ticks: busy split as user and system and steal."""
    lines = [f"cpu  {sum(busy)} 0 0 {sum(idle)} 0 0 0 0 0 0"]
    for i, (b, d) in enumerate(zip(busy, idle)):
        lines.append(f"cpu{i} {b - b // 2 - b // 4} 0 {b // 2} {d} 0 0 0 {b // 4} 0 0")
    return "\n".join(lines + ["intr 0", "procs_running 120"]) + "\n"


def make_node(root, n_cpus=128, allowed="0-15", running=113, own_ticks=0, cgroup=None):
    """A fake node: n_cpus online, the affinity list ``allowed``, ``running`` runnable threads
    node-wide (loadavg), our process with one running thread and ``own_ticks`` CPU ticks."""
    _write(root, "sys/devices/system/cpu/online", f"0-{n_cpus - 1}\n")
    _write(root, "proc/self/status", f"Name:\tpython\nCpus_allowed_list:\t{allowed}\nVmRSS:\t1 kB\n")
    _write(root, "proc/loadavg", f"20.0 20.0 20.0 {running}/900 4242\n")
    _write(root, "proc/self/task/4242/stat", "4242 (py thon) R 1 1 1 0 -1 0 0 0 0 0 0 0\n")
    set_own_ticks(root, own_ticks)
    for rel, text in (cgroup or {}).items():
        _write(root, rel, text)


def set_own_ticks(root, ticks):
    _write(root, "proc/self/stat", f"4242 (py thon) R 1 1 1 0 -1 0 0 0 0 0 {ticks - ticks // 3} {ticks // 3} 0 0\n")


def set_cpu_ticks(root, n_cpus, busy_of, total=1000):
    """Cumulative ticks: cpu i has busy_of(i) busy ticks out of ``total``."""
    busy = [busy_of(i) for i in range(n_cpus)]
    _write(root, "proc/stat", _stat_lines(busy, [total - b for b in busy]))


def _budget_between(root, n_cpus, before, after, own=(0, 0)):
    """Budget from two looks at the node 1000 ticks apart: busy ticks before, and added after."""
    set_cpu_ticks(root, n_cpus, before)
    set_own_ticks(root, own[0])
    snap = cb.snapshot(str(root), cb.allowed_cpus(str(root)))
    set_cpu_ticks(root, n_cpus, lambda i: before(i) + after(i), total=2000)   # 1000 ticks later
    set_own_ticks(root, own[1])
    b, _ = cb.cpu_budget(str(root), previous=snap)
    return b


def test_hpc_job_16_of_128_cpus_others_busy(tmp_path, fresh):
    # 16 cores of a 128-core node; the other 112 run other jobs flat out, ours are idle
    make_node(tmp_path)
    b = _budget_between(tmp_path, 128, lambda i: 0, lambda i: 0 if i < 16 else 900)
    assert (b.threads, b.source, b.cpus, b.quota) == (16, "affinity", 16, None)
    assert b.busy == 0
    # the node-wide loadavg (113 running) must not matter: the old rule gave 1 thread
    assert cb.running_elsewhere(str(tmp_path)) == 112


def test_hpc_job_busy_process_on_our_cpus(tmp_path, fresh):
    # another process keeps 3 of our 16 CPUs busy (900 of ~1000 ticks each): back off by 3
    make_node(tmp_path)
    b = _budget_between(tmp_path, 128, lambda i: 0, lambda i: 900 if i < 3 or i >= 16 else 0)
    assert (b.threads, b.source) == (13, "contention")
    assert b.busy == pytest.approx(2.7)


def test_own_cpu_time_is_not_contention(tmp_path, fresh):
    # our own threads kept 8 CPUs busy: that time is ours, not another process's
    make_node(tmp_path)
    b = _budget_between(tmp_path, 128, lambda i: 0, lambda i: 1000 if i < 8 else 0, own=(0, 8000))
    assert (b.threads, b.source, b.busy) == (16, "affinity", 0.0)


def test_all_cpus_ours_uses_loadavg(tmp_path, fresh):
    # affinity = every online CPU: the instantaneous runnable count, minus our running thread
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=4)
    b, _ = cb.cpu_budget(str(tmp_path))
    assert (b.threads, b.source, b.busy) == (5, "contention", 3.0)
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=1)
    assert cb.cpu_budget(str(tmp_path))[0].threads == 8
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=100)
    assert cb.cpu_budget(str(tmp_path))[0].threads == 1


V2 = {"proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
      "proc/self/mountinfo": "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"}


@pytest.mark.parametrize("quota, expected", [(150000, 2), (240000, 2), (50000, 1), (250000, 3), (800000, 8)])
def test_cgroup_v2_quota_rounds_half_up(tmp_path, fresh, quota, expected):
    cg = dict(V2)
    cg["sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = f"{quota} 100000\n"
    cg["sys/fs/cgroup/kubepods/pod1/cpu.max"] = "max 100000\n"
    make_node(tmp_path, n_cpus=64, allowed="0-63", running=1, cgroup=cg)
    assert cb.cgroup_cpu_quota(str(tmp_path)) == pytest.approx(quota / 100000)
    b, _ = cb.cpu_budget(str(tmp_path))
    assert (b.threads, b.source if expected < 64 else None) == (expected, "cgroup quota")


def test_cgroup_v2_parent_limit_and_unlimited(tmp_path, fresh):
    cg = dict(V2)
    cg["sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "max 100000\n"
    make_node(tmp_path, n_cpus=64, allowed="0-63", running=1, cgroup=cg)
    assert cb.cgroup_cpu_quota(str(tmp_path)) is None
    assert cb.cpu_budget(str(tmp_path))[0].threads == 64
    _write(tmp_path, "sys/fs/cgroup/kubepods/cpu.max", "300000 100000\n")   # an ancestor's limit
    assert cb.cgroup_cpu_quota(str(tmp_path)) == 3.0
    assert cb.cpu_budget(str(tmp_path))[0].threads == 3


def test_cgroup_v2_namespaced_container(tmp_path, fresh):
    # inside a cgroup namespace the process sees "0::/" and the mount is its own group
    cg = {"proc/self/cgroup": "0::/\n",
          "proc/self/mountinfo": "1 0 0:26 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
          "sys/fs/cgroup/cpu.max": "200000 100000\n"}
    make_node(tmp_path, n_cpus=64, allowed="0-63", running=1, cgroup=cg)
    assert cb.cpu_budget(str(tmp_path))[0].threads == 2


def test_cgroup_v1_quota(tmp_path, fresh):
    # docker on cgroup v1 without a namespace: the mount root is the container's group
    cg = {"proc/self/cgroup": "12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n",
          "proc/self/mountinfo": ("40 31 0:37 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n"
                                  "41 31 0:38 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n"),
          "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "250000\n",
          "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"}
    make_node(tmp_path, n_cpus=64, allowed="0-63", running=1, cgroup=cg)
    assert cb.cgroup_cpu_quota(str(tmp_path)) == 2.5
    assert cb.cpu_budget(str(tmp_path))[0].threads == 3
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n")   # unlimited
    assert cb.cgroup_cpu_quota(str(tmp_path)) is None


def test_cgroup_v1_without_mountinfo(tmp_path, fresh):
    cg = {"proc/self/cgroup": "4:cpu,cpuacct:/\n",
          "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "100000\n",
          "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}
    make_node(tmp_path, n_cpus=4, allowed="0-3", running=1, cgroup=cg)
    b, _ = cb.cpu_budget(str(tmp_path))
    assert (b.threads, b.source, b.quota) == (1, "cgroup quota", 1.0)


def test_quota_and_cpuset_and_contention_together(tmp_path, fresh):
    # 8 of 32 CPUs, a quota of 6 CPUs, one of our CPUs busy with another process: 6 - 1
    cg = dict(V2)
    cg["sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "600000 100000\n"
    make_node(tmp_path, n_cpus=32, allowed="8-15", cgroup=cg)
    b = _budget_between(tmp_path, 32, lambda i: 0, lambda i: 1000 if i in (8, 20) else 0)
    assert (b.threads, b.source, b.cpus, b.quota, b.busy) == (5, "contention", 8, 6.0, 1.0)


def test_missing_files_give_the_affinity(tmp_path, fresh):
    _write(tmp_path, "proc/self/status", "Cpus_allowed_list:\t0-5\n")
    b, snap = cb.cpu_budget(str(tmp_path))
    assert (b.threads, b.source, b.quota, b.busy, snap) == (6, "affinity", None, None, None)
    assert cb.cpu_budget(str(tmp_path / "nothing"))[0].threads == 1     # nothing known: 1 CPU


def test_first_look_samples_a_window(tmp_path, fresh):
    make_node(tmp_path)
    set_cpu_ticks(tmp_path, 128, lambda i: 0)
    b, snap = cb.cpu_budget(str(tmp_path), window=0.001)   # the file does not move: busy unknown
    assert (b.threads, b.busy) == (16, None) and snap is not None
    b, _ = cb.cpu_budget(str(tmp_path), window=0)
    assert b.busy is None


def test_cpu_list_parser():
    assert cb._parse_cpu_list("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}
    assert cb.quota_threads(1.5) == 2 and cb.quota_threads(2.49) == 2 and cb.quota_threads(0.2) == 1


def test_env_caps_and_opt_out(tmp_path, fresh):
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=6)
    fresh.setattr(th, "_ROOT", str(tmp_path))
    assert fd.get_num_threads() == 3
    fresh.setenv("OMP_NUM_THREADS", "2")
    th._adapt_cache[0] = float("-inf")
    assert fd.get_num_threads() == 2                   # the environment caps the count
    assert th.explain_num_threads()[1].startswith("OMP_NUM_THREADS")
    fresh.setenv("NUMBA_NUM_THREADS", "6")              # NUMBA_NUM_THREADS is read first
    th._adapt_cache[0] = float("-inf")
    assert fd.get_num_threads() == 3 and th.max_threads() == 6
    fresh.setenv("FASTDGM_ADAPTIVE_THREADS", "0")
    assert fd.get_num_threads() == 6
    assert "adaptation off" in th.explain_num_threads()[1]


def test_default_count_is_cached_and_explained(tmp_path, fresh):
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=1)
    fresh.setattr(th, "_ROOT", str(tmp_path))
    assert fd.get_num_threads() == 8
    _write(tmp_path, "proc/loadavg", "1 1 1 100/900 1\n")
    assert fd.get_num_threads() == 8                   # re-read at most every 0.25 s
    th._adapt_cache[0] = float("-inf")
    assert fd.get_num_threads() == 1
    n, why = th.explain_num_threads()
    assert n == 1 and why.startswith("contention (affinity 8 CPUs; cgroup quota none; 99.0 of them busy")


def test_explicit_count_wins(tmp_path, fresh):
    make_node(tmp_path, n_cpus=8, allowed="0-7", running=100)
    fresh.setattr(th, "_ROOT", str(tmp_path))
    with fd.threads(2):
        assert fd.get_num_threads() == 2
        assert th.explain_num_threads() == (2, "fastdgm.threads(n)")
    fd.set_num_threads(3)
    try:
        assert fd.get_num_threads() == 3
        assert th.explain_num_threads() == (3, "fastdgm.set_num_threads(n)")
    finally:
        th._default_threads = None


def test_readers_on_this_machine():
    assert cb.allowed_cpus() == frozenset(os.sched_getaffinity(0))
    b, _ = cb.cpu_budget()
    assert 1 <= b.threads <= b.cpus
    assert b.source in ("affinity", "cgroup quota", "contention", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS")
    busy = cb.running_elsewhere()
    assert busy is None or busy >= 0
    t = cb.cpu_times()
    assert t is None or 0 <= t[0] <= t[1]


def test_show_config_names_the_source():
    import io

    buf = io.StringIO()
    fd.show_config(file=buf)
    line = next(x for x in buf.getvalue().splitlines() if x.startswith("threads"))
    assert " from " in line and "affinity" in line


def test_set_num_threads_none_restores_the_default():
    fd.set_num_threads(3)
    try:
        assert fd.get_num_threads() == 3
    finally:
        fd.set_num_threads(None)
    assert th.explain_num_threads()[1] != "fastdgm.set_num_threads(n)"
