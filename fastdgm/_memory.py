"""How much memory this process may still allocate, and the check a fit makes before it
allocates (so an oversized hyper-parameter is a clear error, not a process killed by the kernel)."""
from __future__ import annotations

import os

__all__ = ["available_memory", "check_memory"]


def available_memory() -> int:
    """Bytes this process may still allocate: MemAvailable of /proc/meminfo, capped by the
    cgroup memory limit (v2 ``memory.max`` / v1 ``memory.limit_in_bytes``) less its usage;
    the physical memory where /proc is absent."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):   # pragma: no cover - exotic platforms
            return 2 ** 62
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit():
            avail = min(avail, max(0, int(limit) - usage))
        break
    return int(avail)


def check_memory(nbytes: float, name: str, value, what: str = "the fit") -> None:
    """Raise ``ValueError`` naming the parameter when ``what`` would allocate more than
    :func:`available_memory` (estimated before anything is allocated).

    Parameters
    ----------
    nbytes : float
        Estimated bytes ``what`` allocates.
    name : str
        The parameter that drives the size (named in the message).
    value : object
        Its value.
    what : str
        What allocates.
    """
    avail = available_memory()
    if nbytes > avail:
        raise ValueError(f"{name}={value}: {what} would allocate about {int(nbytes):,} bytes, more than "
                         f"the {avail:,} bytes this process may use; choose a smaller {name}")
