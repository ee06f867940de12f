"""A minimal progress bar on stderr (no dependency): ``[#####.....] 50/100 sweeps 1.2e+03 sweeps/s``.

Usage::

    with Progress(total, unit="sweeps", enabled=progress, desc="gibbs") as bar:
        ...
        bar.update(n_done_now)

Redraws at most ~10 times a second; ends with a newline on ``close``.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Text progress bar.

    Parameters
    ----------
    total : int
        Number of units of the whole task.
    unit : str
        Name of the unit, shown with the count and the rate.
    enabled : bool
        If False every method does nothing.
    desc : str
        Prefix of the line.
    file : file-like, optional
        Where to draw; ``sys.stderr`` by default.
    width : int
        Bar width in characters.
    """

    def __init__(self, total: int, *, unit: str = "it", enabled: bool = True, desc: str = "",
                 file=None, width: int = 30, min_interval: float = 0.1):
        self.total = max(int(total), 0)
        self.unit = unit
        self.enabled = bool(enabled)
        self.desc = desc
        self.file = file
        self.width = width
        self.min_interval = min_interval
        self.n = 0
        self._t0 = time.perf_counter()
        self._last = -1.0

    def __enter__(self):
        self._draw(force=True)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` units and redraw if enough time has passed."""
        self.n += n
        self._draw(force=self.n >= self.total)

    def _line(self) -> str:
        dt = time.perf_counter() - self._t0
        rate = self.n / dt if dt > 0 else 0.0
        frac = self.n / self.total if self.total else 1.0
        fill = int(round(self.width * min(frac, 1.0)))
        bar = "#" * fill + "." * (self.width - fill)
        head = f"{self.desc} " if self.desc else ""
        return f"\r{head}[{bar}] {self.n}/{self.total} {self.unit} {rate:.3g} {self.unit}/s {dt:.1f} s"

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        f = self.file if self.file is not None else sys.stderr
        f.write(self._line())
        f.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        self._draw(force=True)
        f = self.file if self.file is not None else sys.stderr
        f.write("\n")
        f.flush()
        self.enabled = False
