"""Ratios and README tables from pytest-benchmark JSON: ``python benchmarks/report.py FILE [...]``.

Every implementation of a case is its own pytest-benchmark entry in one ``group`` (see
``conftest.py``), timed by the same timer in the same run. Per group:

- peers (numpy, torch, scipy, one thread...): ratio = peer median / fastdgm median (above 1:
  fastdgm is faster);
- floors (``floor_uniforms``: drawing the uniforms alone; ``floor_read``: reading the input
  once): ratio = fastdgm median / floor median (how far fastdgm is above the floor).

Two-threads-vs-one groups (``measure_threads`` in ``conftest.py``) also carry the median of
their interleaved pairs (one-thread time / two-thread time of the same round).

``--markdown`` prints the README tables ("Performance", "How close to the limit" and the
thread speed-ups); ``--readme README.md`` rewrites them in place between
``<!-- bench:performance -->`` / ``<!-- bench:limit -->`` / ``<!-- bench:threads -->`` and the
matching ``<!-- /bench:... -->`` markers.
"""
from __future__ import annotations

import argparse
import json
import re
import sys

from fastdgm.bench.runner import FLOORS, group_medians, group_ratios


def _ms(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} µs"


PAIRED = {}   # {group: (median of the paired speed-ups, rounds)}, filled by load()
SERIAL = {}     # {group: serial fraction of the one-thread call}, from ``measure_threads``
ITERATIONS = {}  # {group: EM iterations of the peer}, for groups with a ``fastdgm_1estep`` entry


def load(paths) -> dict:
    """``{group: {impl: median_s}}`` merged over JSON files (a later file overrides)."""
    out: dict = {}
    for path in paths:
        with open(path) as f:
            for group, impls in group_medians(json.load(f)).items():
                out.setdefault(group, {}).update({impl: med for impl, (med, _) in impls.items()})
                info = impls.get("fastdgm", (None, {}))[1].get("extra_info", {}) if "fastdgm" in impls else {}
                if "paired_speedup" in info:
                    PAIRED[group] = (info["paired_speedup"], info["paired_rounds"])
                if "serial_fraction" in info:
                    SERIAL[group] = info["serial_fraction"]
                if "iterations" in info and "fastdgm_1estep" in impls:
                    ITERATIONS[group] = int(info["iterations"])
    return out


def text(groups) -> str:
    lines = []
    for group, impls in groups.items():
        ratios = group_ratios(impls)
        parts = [f"{impl}={_ms(impls[impl])} (x{r:.2f})" for impl, r in ratios.items()]
        fast = _ms(impls["fastdgm"]) if "fastdgm" in impls else "-"
        if group in PAIRED:
            parts.append(f"paired x{PAIRED[group][0]:.2f} ({PAIRED[group][1]} rounds)")
        lines.append(f"{group:34s} fastdgm={fast:>10s}  " + "  ".join(parts))
    return "\n".join(lines)


def performance_md(groups) -> str:
    """Markdown: fastdgm vs each peer (ratio = peer / fastdgm), groups with a peer only."""
    rows = ["| case | fastdgm | peer: median (peer / fastdgm) |", "|---|---:|---|"]
    for group, impls in groups.items():
        if group in ITERATIONS:
            rows.append(_per_iteration_row(group, impls, ITERATIONS[group]))
            continue
        ratios = group_ratios(impls)
        peers = [f"{impl} {_ms(impls[impl])} (**{r:.1f}x**)" for impl, r in ratios.items() if impl not in FLOORS]
        if peers:
            rows.append(f"| {group} | {_ms(impls['fastdgm'])} | {'; '.join(peers)} |")
    return "\n".join(rows)


def _per_iteration_row(group, impls, iters) -> str:
    """An EM group: fastdgm's time per iteration is (1 + iters E-steps - 1 E-step) / iters,
    each peer's is its time for ``iters`` iterations / iters (ratio = peer / fastdgm)."""
    per_it = (impls["fastdgm"] - impls["fastdgm_1estep"]) / iters
    peers = [f"{impl} {_ms(impls[impl] / iters)} (**{impls[impl] / iters / per_it:.1f}x**)"
             for impl in impls if impl not in ("fastdgm", "fastdgm_1estep") and impl not in FLOORS]
    return f"| {group} (per EM iteration) | {_ms(per_it)} | {'; '.join(peers)} |"


def limit_md(groups) -> str:
    """Markdown: fastdgm next to its floors (ratio = fastdgm / floor)."""
    rows = ["| case | fastdgm | uniforms alone | fastdgm / uniforms | one read of the input | fastdgm / read |",
            "|---|---:|---:|---:|---:|---:|"]
    for group, impls in groups.items():
        if "fastdgm" not in impls or not any(f in impls for f in FLOORS):
            continue
        ratios = group_ratios(impls)
        cells = []
        for f in FLOORS:
            cells += [_ms(impls[f]), f"{ratios[f]:.2f}"] if f in impls else ["-", "-"]
        rows.append(f"| {group} | {_ms(impls['fastdgm'])} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def amdahl(s: float, n: int) -> float:
    """Speed-up bound on ``n`` threads of a call whose serial fraction is ``s``."""
    return 1.0 / (s + (1.0 - s) / n)


def threads_md(groups) -> str:
    """Markdown: two threads (``shared-*``: the default count beside a busy loop per core) vs
    one, by the entries' medians and by the interleaved pairs; the serial fraction of the
    one-thread call (outside the parallel kernels) and its Amdahl bounds on 16 and 64 threads."""
    rows = ["| case | 2 threads (shared-*: default) | 1 thread | speed-up (medians of the entries) "
            "| speed-up (median of interleaved pairs) | serial fraction | Amdahl bound 16 / 64 threads |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for group, impls in groups.items():
        if group not in PAIRED or "fastdgm_1thread" not in impls:
            continue
        two, one = impls["fastdgm"], impls["fastdgm_1thread"]
        sp, n = PAIRED[group]
        if group in SERIAL:
            f = SERIAL[group]
            serial = f"{100 * f:.1f}% | {amdahl(f, 16):.1f}x / {amdahl(f, 64):.1f}x"
        else:
            serial = "- | -"
        rows.append(f"| {group} | {_ms(two)} | {_ms(one)} | {one / two:.2f} | **{sp:.2f}** ({n} pairs) | {serial} |")
    return "\n".join(rows)


def rewrite_readme(path, groups) -> None:
    with open(path) as f:
        s = f.read()
    for name, table in (("performance", performance_md(groups)), ("limit", limit_md(groups)),
                        ("threads", threads_md(groups))):
        pat = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pat.search(s) and name == "threads":
            continue                       # optional table
        if not pat.search(s):
            raise SystemExit(f"{path}: no <!-- bench:{name} --> ... <!-- /bench:{name} --> markers")
        s = pat.sub(lambda m: m.group(1) + table + "\n" + m.group(2), s)
    with open(path, "w") as f:
        f.write(s)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="pytest-benchmark JSON files (--benchmark-json=FILE)")
    ap.add_argument("--markdown", action="store_true", help="print the README tables")
    ap.add_argument("--readme", help="rewrite the tables of this README in place")
    args = ap.parse_args(argv)
    groups = load(args.json)
    if args.readme:
        rewrite_readme(args.readme, groups)
    if args.markdown:
        print(performance_md(groups))
        print()
        print(limit_md(groups))
        print()
        print(threads_md(groups))
    else:
        print(text(groups))


if __name__ == "__main__":
    sys.exit(main())
