"""Start-up: the first call of each public entry in a fresh process, with an empty and a warm JIT cache.

Each measurement is a new Python process (``subprocess``) with its own ``NUMBA_CACHE_DIR``:
``empty`` is a new directory; ``warm`` is one that a previous process filled by running the
same entry. The child imports fastdgm, builds the input, then times the first call of the
entry and a second call (``extra_info``: ``import_s``, ``first_call_s``, ``first_call_cpu_s`` (the
process's CPU time during the first call: compilation is mostly one thread, so on a loaded
machine it is the steadier figure), ``second_call_s``);
the pytest-benchmark time of the entry is the whole child process. Targets (issue 18): empty
cache, ``fd.gibbs`` <= 6 s, each model's ``fit`` <= 4 s, ``warmup()`` <= 30 s; warm cache, each
first call <= 0.3 s.

Under ``--benchmark-disable`` only the tiny entry (``warmup(kinds=["sampling"])``, empty
cache) runs: an empty-cache run of every entry takes minutes. From the command line::

    python benchmarks/bench_startup.py [ENTRY ...] [--repeat N] [--compare OTHER_SOURCE_TREE]

prints the median of N children (interleaved over the entries) for each entry and cache state;
``--compare`` runs each child also on another checkout (e.g. the previous commit, built),
interleaved with this one, and prints both.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

import fastdgm  # noqa: E402

# the folder holding the fastdgm in use (a built checkout, or site-packages for an installed
# package): children import that one, never an unbuilt checkout beside this file
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdgm.__file__)))

_DATA = ("rng = np.random.default_rng(0)\n"
         "X = rng.integers(0, 3, size=(20_000, 32)).astype(np.uint8)\n"
         "X[:, 1] = (X[:, 0] + (rng.random(len(X)) < 0.2)) % 3\n")

# entry -> (set-up code, timed call); sizes above the serial threshold, as a user's data would be
ENTRIES = {
    "gibbs": ("m = fd.PairwiseMRF.grid((64, 64), 2, 0.44)\n", "fd.gibbs(m, 4, 10, rng=0)"),
    "Factorized.fit": (_DATA, "fd.Factorized.fit(X, n_states=3)"),
    "ChowLiuTree.fit": (_DATA, "fd.ChowLiuTree.fit(X, n_states=3)"),
    "Mixture.fit": (_DATA, "fd.Mixture.fit(X, n_components=4, n_states=3, rng=0, max_iter=5)"),
    "TreeMixture.fit": (_DATA, "fd.TreeMixture.fit(X, 3, n_states=3, rng=0, max_iter=5)"),
    "HiddenChowLiuTree.fit": (_DATA, "fd.HiddenChowLiuTree.fit(X, n_hidden=4, n_states=3, rng=0, max_iter=5)"),
    "warmup": ("", "fd.warmup()"),
    "warmup-sampling": ("", "fd.warmup(kinds=['sampling'])"),
}
TINY = "warmup-sampling"
TARGET_EMPTY = {"gibbs": 6.0, "warmup": 30.0}       # seconds; every fit: 4.0
TARGET_WARM = 0.3

_CHILD = """\
import json, time
t0 = time.perf_counter()
import numpy as np
import fastdgm as fd
t1 = time.perf_counter()
{setup}
t, c = time.perf_counter(), time.process_time()
{call}
t2, c2 = time.perf_counter(), time.process_time()
{call}
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_call_s": t2 - t, "first_call_cpu_s": c2 - c,
                  "second_call_s": t3 - t2}}))
"""


def first_call(entry: str, cache_dir: str, root: str = _ROOT) -> dict:
    """Run ``entry`` in a new process with ``NUMBA_CACHE_DIR=cache_dir`` and the fastdgm source
    tree ``root`` first on the path; its timings (s)."""
    setup, call = ENTRIES[entry]
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir,
               PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _CHILD.format(setup=setup, call=call)], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def target(entry: str, cache: str) -> float:
    if cache == "warm":
        return TARGET_WARM
    return TARGET_EMPTY.get(entry.split("-")[0], 4.0)


@pytest.mark.parametrize("cache", ["empty", "warm"])
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_startup(benchmark, full_size, tmp_path, entry, cache):
    """First call of ``entry`` in a fresh process, empty or warm JIT cache."""
    if not full_size and (entry, cache) != (TINY, "empty"):
        pytest.skip("start-up entries run with --benchmark-enable (minutes with an empty cache)")
    cache_dir = str(tmp_path / "numba-cache")
    if cache == "warm":
        first_call(entry, cache_dir)                     # fills the cache, untimed
    benchmark.group = f"startup-{cache}"
    benchmark.extra_info.update(impl="fastdgm", group=benchmark.group, kernel="startup", entry=entry,
                                cache=cache, target_s=target(entry, cache))
    res = benchmark.pedantic(first_call, args=(entry, cache_dir), rounds=1, iterations=1)
    benchmark.extra_info.update(res)
    assert res["first_call_s"] > 0 and res["second_call_s"] > 0


def main(argv: list[str]) -> None:
    import numpy as np

    opts = {"--repeat": "1", "--compare": None}
    for opt in opts:
        if opt in argv:
            i = argv.index(opt)
            opts[opt], argv = argv[i + 1], argv[:i] + argv[i + 2:]
    repeat = int(opts["--repeat"])
    trees = {"this": _ROOT} if opts["--compare"] is None else {"other": opts["--compare"], "this": _ROOT}
    entries = argv or list(ENTRIES)
    rows: dict = {(e, c, t): [] for e in entries for c in ("empty", "warm") for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeat):                        # interleaved: one round over every entry
            for e in entries:
                for t, root in trees.items():
                    d = os.path.join(tmp, f"{e}-{r}-{t}")
                    rows[e, "empty", t].append(first_call(e, d, root))
                    rows[e, "warm", t].append(first_call(e, d, root))
                    em, wa = rows[e, "empty", t][-1], rows[e, "warm", t][-1]
                    print(f"round {r} {e} [{t}]: empty {em['first_call_s']:.2f} s (CPU {em['first_call_cpu_s']:.2f}), "
                          f"warm {wa['first_call_s']:.3f} s (CPU {wa['first_call_cpu_s']:.3f})",
                          file=sys.stderr, flush=True)
    print(f"{'entry':24s} {'cache':6s} {'tree':6s} {'import s':>9s} {'first call s':>13s} {'its CPU s':>10s} "
          f"{'second s':>9s} {'target s':>9s}")
    for (e, c, t), rs in rows.items():
        med = {k: float(np.median([x[k] for x in rs])) for k in rs[0]}
        print(f"{e:24s} {c:6s} {t:6s} {med['import_s']:9.2f} {med['first_call_s']:13.3f} "
              f"{med['first_call_cpu_s']:10.3f} {med['second_call_s']:9.3f} {target(e, c):9.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
