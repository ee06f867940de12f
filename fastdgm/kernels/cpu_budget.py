"""How many CPUs this process may use, and how many of those other processes keep busy (Linux).

The readers behind the default thread count (:func:`fastdgm.get_num_threads`). Each takes the
root directory of the ``/proc`` and ``/sys`` trees it reads (``"/"`` on a real machine), so that
tests drive them through fake trees.

The rule
--------
``budget = min(affinity, quota)``, ``threads = max(1, min(ceiling, budget - busy))`` where

- **affinity**: the CPUs this process may run on (``os.sched_getaffinity``; under SLURM or PBS
  with cgroup cpusets, the job's cores, not the node's).
- **quota**: the cgroup CPU bandwidth limit in CPUs (docker ``--cpus``, Kubernetes limits):
  cgroup v2 ``cpu.max`` (``"quota period"``, ``"max period"`` when unlimited), cgroup v1
  ``cpu.cfs_quota_us / cpu.cfs_period_us`` (``-1`` when unlimited), the smallest limit of the
  process's cgroup and its ancestors (found from ``/proc/self/cgroup`` and
  ``/proc/self/mountinfo``, else the usual ``/sys/fs/cgroup`` paths). A fractional quota is
  **rounded half up**, never below 1: 1.5 CPUs gives 2 threads, 2.4 gives 2, 0.5 gives 1. An
  extra thread that gets at least half a CPU of quota still adds throughput (the kernels hand
  out work dynamically, so a throttled thread takes fewer chunks); one that gets less mostly
  adds throttling at the end of each quota period.
- **ceiling**: ``NUMBA_NUM_THREADS`` or ``OMP_NUM_THREADS`` when set, else the budget.
- **busy**: the CPUs of the budget that *other* processes keep busy, never node-wide counts
  on a node shared by jobs with their own cores. When the affinity set is every online CPU,
  the instantaneous runnable count (``/proc/loadavg``) minus this process's running threads.
  When it is a subset (cpuset), the busy time of exactly those CPUs (``/proc/stat``: user,
  nice, system, irq, softirq, steal) minus this process's own CPU time (``/proc/self/stat``),
  over the time since the previous look (a 20 ms sample on the first one), divided by the
  elapsed time of one CPU and rounded.

Why adapt at all, with dynamic scheduling (:mod:`fastdgm.kernels.schedule`): a parallel call
waits at its barriers for every thread it started. Measured on the 2-core development VM
(loaded by other users), 8 Ising chains on 128x128, 10 sweeps: 3.6-7.6 ms on one thread,
43-98 ms on two forced threads (12-16x slower) whether zero, one or two busy loops were pinned
to the cores; one draw of 2e6 categoricals (a single parallel region) lost 0-11%. Dynamic
chunks balance the work, not the wake-up of a thread whose core is taken.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

__all__ = ["Budget", "allowed_cpus", "online_cpus", "cgroup_cpu_quota", "quota_threads",
           "cpu_times", "own_cpu_ticks", "running_elsewhere", "busy_between", "cpu_budget"]

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)    # user nice system irq softirq steal (idle=3, iowait=4)
FIRST_WINDOW = 0.02                  # seconds of the first /proc/stat sample of a cpuset


def _path(root: str, *parts: str) -> str:
    return os.path.join(root, *[p.lstrip("/") for p in parts])


def _read(root: str, *parts: str) -> str | None:
    try:
        with open(_path(root, *parts)) as f:
            return f.read()
    except OSError:
        return None


def _parse_cpu_list(text: str) -> frozenset[int]:
    """``"0-3,8,10-11"`` -> {0, 1, 2, 3, 8, 10, 11}."""
    out: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(out)


def allowed_cpus(root: str = "/") -> frozenset[int] | None:
    """The CPUs this process may run on: its affinity set.

    Parameters
    ----------
    root : str
        Root of the ``/proc`` tree. On ``"/"`` the set comes from ``os.sched_getaffinity``;
        elsewhere from ``Cpus_allowed_list`` of ``proc/self/status``.

    Returns
    -------
    frozenset of int or None
        CPU numbers, or None when unknown.
    """
    if root == "/" and hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    text = _read(root, "proc/self/status")
    for line in (text or "").splitlines():
        if line.startswith("Cpus_allowed_list:"):
            try:
                return _parse_cpu_list(line.split(":", 1)[1]) or None
            except ValueError:
                return None
    return None


def online_cpus(root: str = "/") -> frozenset[int] | None:
    """The online CPUs of the machine (``sys/devices/system/cpu/online``), or None."""
    text = _read(root, "sys/devices/system/cpu/online")
    try:
        return _parse_cpu_list(text) or None if text else None
    except ValueError:
        return None


def _cgroup_dirs(root: str) -> list[tuple[int, str, str]]:
    """(version, mount point, directory) of each cgroup CPU controller of this process."""
    groups = _read(root, "proc/self/cgroup") or ""
    paths: dict[int, str] = {}
    for line in groups.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            paths[2] = path
        elif "cpu" in controllers.split(","):
            paths[1] = path
    mounts: list[tuple[int, str, str]] = []     # (version, mount root, mount point)
    for line in (_read(root, "proc/self/mountinfo") or "").splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        if rest[0] == "cgroup2":
            mounts.append((2, fields[3], fields[4]))
        elif rest[0] == "cgroup" and "cpu" in rest[2].split(","):
            mounts.append((1, fields[3], fields[4]))
    if not mounts:                            # no mountinfo: the usual places
        for v, mp in ((2, "/sys/fs/cgroup"), (1, "/sys/fs/cgroup/cpu,cpuacct"), (1, "/sys/fs/cgroup/cpu")):
            marker = "cgroup.controllers" if v == 2 else "cpu.cfs_period_us"
            if os.path.exists(_path(root, mp, marker)):
                mounts.append((v, "/", mp))
    out = []
    for v, mroot, mpoint in mounts:
        group = paths.get(v)
        if group is None:
            continue
        path = group
        if mroot != "/" and (path == mroot or path.startswith(mroot.rstrip("/") + "/")):
            path = path[len(mroot.rstrip("/")):]          # the mount shows a sub-tree
        elif mroot != "/" and path != "/":
            path = "/"                                    # a namespaced view: the mount is our group
        out.append((v, os.path.normpath(_path(root, mpoint)), os.path.normpath(_path(root, mpoint, path))))
    return out


def _limit(version: int, directory: str) -> float | None:
    """CPUs allowed by one cgroup directory, or None (unlimited, or no file)."""
    try:
        if version == 2:
            with open(os.path.join(directory, "cpu.max")) as f:
                quota, period = (f.read().split() + ["100000"])[:2]
            if quota == "max":
                return None
            q, p = int(quota), int(period)
        else:
            with open(os.path.join(directory, "cpu.cfs_quota_us")) as f:
                q = int(f.read())
            with open(os.path.join(directory, "cpu.cfs_period_us")) as f:
                p = int(f.read())
    except (OSError, ValueError):
        return None
    return q / p if q > 0 and p > 0 else None


def cgroup_cpu_quota(root: str = "/") -> float | None:
    """The cgroup CPU bandwidth limit of this process, in CPUs (v1 or v2).

    Parameters
    ----------
    root : str
        Root of the ``/proc`` and ``/sys`` trees.

    Returns
    -------
    float or None
        The smallest ``quota / period`` of the process's cgroup and its ancestors up to the
        mount point, or None when no quota is set (or no cgroup is found).
    """
    best = None
    for version, top, d in _cgroup_dirs(root):
        while True:                             # the group, then each ancestor up to the mount
            lim = _limit(version, d)
            if lim is not None and (best is None or lim < best):
                best = lim
            if d == top or not d.startswith(top + os.sep):
                break
            d = os.path.dirname(d)
    return best


def quota_threads(quota: float) -> int:
    """Threads for a quota of ``quota`` CPUs: rounded half up, at least 1 (1.5 -> 2, 2.4 -> 2)."""
    return max(1, int(math.floor(quota + 0.5)))


def cpu_times(root: str = "/", cpus: frozenset[int] | None = None) -> tuple[int, int] | None:
    """(busy, total) clock ticks summed over ``cpus`` (all CPUs when None) from ``proc/stat``."""
    text = _read(root, "proc/stat")
    if text is None:
        return None
    busy = total = 0
    seen = False
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *vals = line.split()
        try:
            cpu = int(name[3:])
            v = [int(x) for x in vals[:8]]
        except ValueError:
            continue
        if cpus is not None and cpu not in cpus:
            continue
        v += [0] * (8 - len(v))
        busy += sum(v[i] for i in _BUSY_FIELDS)
        total += sum(v)
        seen = True
    return (busy, total) if seen else None


def own_cpu_ticks(root: str = "/") -> int | None:
    """User + system clock ticks of this process (``proc/self/stat``), or None."""
    text = _read(root, "proc/self/stat")
    if text is None:
        return None
    try:
        f = text.rsplit(")", 1)[1].split()       # fields from 3 (state) on
        return int(f[11]) + int(f[12])           # utime (14), stime (15)
    except (AttributeError, IndexError, ValueError):
        return None


def running_elsewhere(root: str = "/") -> int | None:
    """Runnable threads of other processes now, machine-wide (``proc/loadavg``), or None."""
    text = _read(root, "proc/loadavg")
    if text is None:
        return None
    try:
        running = int(text.split()[3].split("/")[0])
        own = 0
        task = _path(root, "proc/self/task")
        for tid in os.listdir(task):
            try:
                with open(os.path.join(task, tid, "stat")) as f:
                    own += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):  # pragma: no cover - a thread that just ended
                pass
    except (AttributeError, OSError, ValueError, IndexError):
        return None
    return max(0, running - max(own, 1))


@dataclass(frozen=True)
class Snapshot:
    """CPU times of the affinity set at one moment (for :func:`busy_between`)."""

    busy: int
    total: int
    own: int


def snapshot(root: str, cpus: frozenset[int] | None) -> Snapshot | None:
    """The busy and total ticks of ``cpus`` and this process's CPU ticks now, or None."""
    t, own = cpu_times(root, cpus), own_cpu_ticks(root)
    if t is None or own is None:
        return None
    return Snapshot(t[0], t[1], own)


def busy_between(before: Snapshot, after: Snapshot, n_cpus: int) -> float | None:
    """CPUs of the set kept busy by other processes between two snapshots, or None.

    ``(busy ticks of the set - this process's ticks) / (total ticks of the set / n_cpus)``.
    """
    elapsed = (after.total - before.total) / max(n_cpus, 1)
    if elapsed <= 0:
        return None
    others = (after.busy - before.busy) - (after.own - before.own)
    return min(float(n_cpus), max(0.0, others / elapsed))


@dataclass(frozen=True)
class Budget:
    """The default thread count and where it came from.

    Attributes
    ----------
    threads : int
        The count (>= 1).
    source : str
        What set it: ``"affinity"``, ``"cgroup quota"``, ``"contention"``, or the environment
        variable (``"NUMBA_NUM_THREADS"``, ``"OMP_NUM_THREADS"``).
    cpus : int
        CPUs in the affinity set.
    quota : float or None
        cgroup CPU quota in CPUs (None: none).
    busy : float or None
        CPUs of ours kept busy by other processes (None: unknown or not adapted).
    """

    threads: int
    source: str
    cpus: int
    quota: float | None
    busy: float | None

    def describe(self) -> str:
        """Where the count came from and the inputs, e.g. ``"affinity (16 CPUs; cgroup quota
        none; 0.0 of them busy with other processes)"``."""
        quota = "none" if self.quota is None else f"{self.quota:g} CPUs"
        busy = "unknown" if self.busy is None else f"{self.busy:.1f}"
        return (f"{self.source} (affinity {self.cpus} CPUs; cgroup quota {quota}; "
                f"{busy} of them busy with other processes)")


def env_ceiling() -> tuple[int, str] | None:
    """(count, variable) of ``NUMBA_NUM_THREADS`` or ``OMP_NUM_THREADS`` when set (> 0)."""
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        env = os.environ.get(var)
        if env:
            try:
                n = int(env.split(",")[0])
            except ValueError:
                continue
            if n > 0:
                return n, var
    return None


def cpu_budget(root: str = "/", previous: Snapshot | None = None, adapt: bool = True,
               window: float = FIRST_WINDOW) -> tuple[Budget, Snapshot | None]:
    """The default thread count (see the module's rule) and the snapshot for the next look.

    Parameters
    ----------
    root : str
        Root of the ``/proc`` and ``/sys`` trees.
    previous : Snapshot, optional
        The snapshot of the previous look (cpuset case); without it a ``window``-second sample.
    adapt : bool
        False: no reduction for contention.
    window : float
        Seconds of the first sample when ``previous`` is None (0: no sample, busy unknown).

    Returns
    -------
    (Budget, Snapshot or None)
    """
    allowed = allowed_cpus(root)
    if allowed is None:
        n_cpus = max(1, os.cpu_count() or 1) if root == "/" else 1
    else:
        n_cpus = len(allowed)
    quota = cgroup_cpu_quota(root)
    budget, source = n_cpus, "affinity"
    if quota is not None and quota_threads(quota) < n_cpus:
        budget, source = quota_threads(quota), "cgroup quota"
    env = env_ceiling()
    ceiling = budget if env is None else env[0]
    if env is not None:
        source = env[1]
    busy: float | None = None
    snap = None
    if adapt and ceiling > 1:
        online = online_cpus(root)
        if allowed is None or online is None or allowed >= online:
            b = running_elsewhere(root)
            busy = None if b is None else float(b)
        else:
            snap = snapshot(root, allowed)
            if snap is not None and previous is None and window > 0:
                previous = snap
                time.sleep(window)
                snap = snapshot(root, allowed)
            if snap is not None and previous is not None:
                busy = busy_between(previous, snap, n_cpus)
    n = ceiling
    if busy is not None:
        free = budget - int(math.floor(busy + 0.5))
        if free < ceiling:
            n, source = max(1, free), "contention"
    return Budget(n, source, n_cpus, quota, busy), snap
