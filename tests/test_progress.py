"""Progress bars of the long runs: shown on request, on stderr, and never change a result."""
import numpy as np

import fastdgm as fd


def test_fit_progress_bars(capsys):
    X = np.random.default_rng(0).integers(0, 3, size=(500, 6))
    a = fd.Mixture.fit(X, n_components=3, n_states=3, rng=1, max_iter=20, n_init=2)
    assert capsys.readouterr().err == ""
    b = fd.Mixture.fit(X, n_components=3, n_states=3, rng=1, max_iter=20, n_init=2, progress=True)
    err = capsys.readouterr().err
    assert "fit Mixture" in err and "iterations" in err
    np.testing.assert_array_equal(a.log_components, b.log_components)

    e = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]
    m1 = fd.PairwiseMRF.fit(X, edges=e, n_states=3, max_iter=30)
    assert capsys.readouterr().err == ""
    m2 = fd.PairwiseMRF.fit(X, edges=e, n_states=3, max_iter=30, progress=True)
    assert "fit PairwiseMRF" in capsys.readouterr().err
    np.testing.assert_array_equal(m1.energy(X), m2.energy(X))


def test_gibbs_progress_bar(capsys):
    m = fd.PairwiseMRF.grid((8, 8), n_states=2, coupling=0.5)
    r1 = fd.gibbs(m, 2, 20, rng=0)
    assert capsys.readouterr().err == ""
    r2 = fd.gibbs(m, 2, 20, rng=0, progress=True)
    assert "sweeps" in capsys.readouterr().err
    np.testing.assert_array_equal(r1.samples, r2.samples)


# --- the bar itself, on a fake terminal --------------------------------------------------
import io  # noqa: E402

from fastdgm._progress import Progress, format_seconds  # noqa: E402


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _frames(text):
    """What the terminal shows after each redraw: the segments between carriage returns."""
    return [f for f in text.replace("\n", "\r").split("\r") if f]


def test_final_line_is_filled_exactly():
    for total, steps in [(25, [5] * 5), (10, [3, 3]), (10, [4, 4, 4])]:   # exact, early end, overrun
        out, clock = FakeTTY(), Clock()
        with Progress(total, unit="it", file=out, clock=clock, width=20) as bar:
            for s in steps:
                clock.t += 1.0
                bar.update(s)
        last = _frames(out.getvalue())[-1].rstrip()
        n = sum(steps)
        assert "[" + "#" * 20 + "]" in last, last
        assert f" {n}/{n} it" in last, last
        assert out.getvalue().endswith("\n")
    # before the end the bar is not full, even when the fraction rounds up
    out = FakeTTY()
    with Progress(1000, file=out, clock=Clock(), width=20) as bar:
        bar.update(999)
        assert "#" * 20 not in _frames(out.getvalue())[-1]
    # an interrupted task keeps its true state
    out = FakeTTY()
    try:
        with Progress(10, file=out, clock=Clock(), width=10) as bar:
            bar.update(3)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert "[###.......] 3/10" in _frames(out.getvalue())[-1]


def test_rate_and_eta_exclude_resumed_work():
    out, clock = FakeTTY(), Clock()
    bar = Progress(1000, unit="sweeps", file=out, clock=clock, initial=900, min_interval=0.0)
    bar.__enter__()
    assert " 900/1000 sweeps" in bar.line() and "ETA ?" in bar.line()
    clock.t += 10.0
    bar.update(10)                       # 10 sweeps in 10 s here: 1 sweep/s, 90 left
    line = bar.line()
    assert " 910/1000 sweeps" in line
    assert " 1 sweeps/s" in line, line   # not 91/s (which counts the resumed 900)
    assert "ETA 1:30" in line, line
    bar.close()
    assert format_seconds(3725) == "1:02:05" and format_seconds(59.6) == "1:00"


def test_no_stale_characters_on_shorter_redraws():
    out, clock = FakeTTY(), Clock()
    with Progress(10**6, unit="it", file=out, clock=clock, min_interval=0.0) as bar:
        clock.t += 1e-3
        bar.update(1)                    # a huge rate and a long ETA: a long line
        clock.t += 1e4
        bar.update(10**6 - 1)            # a short line
    frames = _frames(out.getvalue())
    for a, b in zip(frames, frames[1:]):
        assert len(b) >= len(a.rstrip()), (a, b)   # the shorter line overwrites every old character
    # a message above the bar leaves no remains of the bar either
    out = FakeTTY()
    with Progress(5, file=out, clock=Clock(), desc="a long description") as bar:
        bar.write("hi")
    first_line = out.getvalue().split("\n")[0]
    assert first_line.split("\r")[-1].startswith("hi") and len(first_line.split("\r")[-1]) >= len(
        first_line.split("\r")[-2])
