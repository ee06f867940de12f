"""Thread control and configuration report, shared by every parallel kernel.

``fastdgm`` keeps its own thread count; it never touches numba's or numpy's global
configuration at import time. Cython kernels receive the count as an argument; numba
kernels get it through :func:`numba_threads`, which sets numba's *thread-local* count
for the duration of one call.
"""
from __future__ import annotations

import os
from typing import TextIO

from .kernels.threads import (
    explain_num_threads,
    get_num_threads,
    max_threads,
    numba_layer,
    numba_threads,
    set_num_threads,
    threads,
)

__all__ = ["get_num_threads", "set_num_threads", "threads", "show_config", "numba_threads"]


def show_config(file: TextIO | None = None) -> None:
    """Print versions, threads, threading layer, OpenMP, SIMD path and JIT cache settings.

    Parameters
    ----------
    file : file-like, optional
        Where to print; standard output by default.
    """
    import platform
    import sys

    import numpy as np

    from ._version import __version__
    from .kernels._threshold import openmp_enabled, simd_cpu_path, simd_path

    lines = [
        f"fastdgm        {__version__}",
        f"python         {sys.version.split()[0]} ({platform.platform()})",
        f"numpy          {np.__version__}",
    ]
    try:
        import numba

        lines.append(f"numba          {numba.__version__}")
        layer = numba_layer() or f"not initialised (configured: {numba.config.THREADING_LAYER})"
        lines.append(f"threading layer {layer}")
        lines.append(f"numba threads  {numba.config.NUMBA_NUM_THREADS} max")
        cache = os.environ.get("NUMBA_CACHE_DIR") or "next to the package sources (__pycache__), " \
            "or numba's user cache dir if read-only"
        lines.append(f"JIT cache      {cache}")
    except ImportError:  # pragma: no cover
        lines.append("numba          not installed")
    lines += [
        "threads        {} from {}".format(*explain_num_threads()),
        f"cpus           {max_threads()} available (affinity, cgroup quota, thread variables)",
        f"OpenMP (Cython) {'yes' if openmp_enabled() else 'no'}",
        f"SIMD kernels   {simd_path()} (CPU best: {simd_cpu_path()}; FASTDGM_SIMD=avx512|avx2|portable caps it)",
    ]
    from .models.base import registered_models

    for name, cls in registered_models().items():
        kind = f"fit {cls.kind}" if cls.kind else "no fit kind"
        lines.append(f"model          {name} ({kind}): {', '.join(sorted(cls.capabilities)) or '-'}")
    print("\n".join(lines), file=file)
