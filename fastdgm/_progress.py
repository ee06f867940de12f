"""A minimal progress bar on stderr (no dependency).

``gibbs [##########..........] 50/100 sweeps  1.2e+03 sweeps/s  0:04 elapsed  ETA 0:04``

Usage::

    with Progress(total, unit="sweeps", enabled=progress, desc="gibbs", initial=done) as bar:
        ...
        bar.update(n_done_now)

- ``initial`` is work done before (a resumed run): it counts towards the bar, never towards
  the rate or the ETA, which measure this process only;
- every redraw pads the line to the length of the previous one, so a shorter line leaves no
  stale characters; redraws happen at most every ``min_interval`` seconds;
- a task that ends normally ends with a full bar, ``n/n``: a fit that converged early (fewer
  units than planned) or that took more (an optimiser's extra evaluations) ends exactly
  filled; a task interrupted by an exception keeps its true, partial state;
- :meth:`write` prints a line above the bar.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_seconds"]


def format_seconds(s: float) -> str:
    """``m:ss`` or ``h:mm:ss``.

    Parameters
    ----------
    s : float
        Seconds (>= 0).

    Returns
    -------
    str
        The duration, e.g. ``"1:05"``.
    """
    s = int(round(max(s, 0.0)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class Progress:
    """Text progress bar with rate and ETA.

    Parameters
    ----------
    total : int
        Number of units of the whole task (including ``initial``).
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
    min_interval : float
        Minimum seconds between two redraws (the first and the last are always drawn).
    initial : int
        Units already done before this process started (excluded from rate and ETA).
    clock : callable, optional
        Time source in seconds (``time.perf_counter`` by default; tests pass a fake one).
    """

    def __init__(self, total: int, *, unit: str = "it", enabled: bool = True, desc: str = "",
                 file=None, width: int = 30, min_interval: float = 0.1, initial: int = 0, clock=None):
        self.total = max(int(total), 0)
        self.unit = unit
        self.enabled = bool(enabled)
        self.desc = desc
        self.file = file
        self.width = width
        self.min_interval = min_interval
        self.initial = max(int(initial), 0)
        self.n = self.initial
        self._clock = time.perf_counter if clock is None else clock
        self._t0 = self._clock()
        self._last: float | None = None
        self._last_len = 0

    def __enter__(self):
        self._draw(force=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(finished=exc_type is None)
        return False

    def _out(self):
        return self.file if self.file is not None else sys.stderr

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` units and redraw if enough time has passed.

        Parameters
        ----------
        n : int
            Units just done.
        """
        self.n += n
        self._draw(force=self.n >= self.total)

    def line(self) -> str:
        """The text of the bar now (without carriage return or padding).

        Returns
        -------
        str
            ``desc [###...] n/total unit  rate unit/s  elapsed  ETA``.
        """
        dt = self._clock() - self._t0
        total = max(self.total, self.n)
        done_here = self.n - self.initial
        rate = done_here / dt if dt > 0 else 0.0
        frac = self.n / total if total else 1.0
        fill = min(self.width, int(self.width * frac))          # full only when n == total
        bar = "#" * fill + "." * (self.width - fill)
        head = f"{self.desc} " if self.desc else ""
        if self.n >= total:
            eta = ""
        elif rate > 0:
            eta = f"  ETA {format_seconds((total - self.n) / rate)}"
        else:
            eta = "  ETA ?"
        return (f"{head}[{bar}] {self.n}/{total} {self.unit}  {rate:.3g} {self.unit}/s  "
                f"{format_seconds(dt)} elapsed{eta}")

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not force and self._last is not None and now - self._last < self.min_interval:
            return
        self._last = now
        text = self.line()
        pad = max(self._last_len - len(text), 0)        # blank out what a longer line left
        self._last_len = len(text)
        f = self._out()
        f.write("\r" + text + " " * pad)
        f.flush()

    def write(self, message: str) -> None:
        """Print ``message`` on its own line above the bar, then redraw the bar.

        Parameters
        ----------
        message : str
            One line of text.
        """
        if not self.enabled:
            return
        f = self._out()
        f.write("\r" + message.ljust(self._last_len) + "\n")
        self._last_len = 0
        self._draw(force=True)

    def close(self, finished: bool = True) -> None:
        """Draw the final state and end the line.

        Parameters
        ----------
        finished : bool
            The task ended normally: the bar ends full at ``n/n``. False (an exception) draws
            the true partial state.
        """
        if not self.enabled:
            return
        if finished:
            self.total = self.n
        self._draw(force=True)
        f = self._out()
        f.write("\n")
        f.flush()
        self.enabled = False
