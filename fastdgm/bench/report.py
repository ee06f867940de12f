"""The one report module of the benchmarks: records from pytest-benchmark JSON, the text table of
``fastdgm bench``, its JSON and plot, and the README tables.

Every implementation of a case is its own pytest-benchmark entry in one ``group`` (see
``benchmarks/conftest.py``), timed by the same timer in the same run. Per group:

- peers (numpy, torch, scipy, one thread...): ratio = peer median / fastdgm median (above 1:
  fastdgm is faster);
- floors (``floor_uniforms``: drawing the uniforms alone; ``floor_read``: reading the input
  once): ratio = fastdgm median / floor median (how far fastdgm is above the floor).

Two-threads-vs-one groups (``measure_threads``) also carry the median of their interleaved
pairs (one-thread time / two-thread time of the same round).

``python benchmarks/report.py FILE [...] [--markdown] [--readme README.md]`` (:func:`main`)
prints the ratios, or the README tables ("Performance", "How
close to the limit" and the thread speed-ups), or rewrites them in place between
``<!-- bench:performance -->`` / ``<!-- bench:limit -->`` / ``<!-- bench:threads -->`` and the
matching ``<!-- /bench:... -->`` markers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field

from .._atomic import atomic_output
from .timing import LABEL_KEYS, SIZE_KEYS, fit_exponents

__all__ = ["FLOORS", "group_medians", "group_ratios", "records_from_json", "format_report", "fmt_params",
           "plot_records", "write_json", "Results", "load", "text", "performance_md", "limit_md", "threads_md", "amdahl", "rewrite_readme",
           "main"]

FLOORS = ("floor_uniforms", "floor_read")


# ---------------------------------------------------------------------------------------
# pytest-benchmark JSON -> groups, ratios, records
# ---------------------------------------------------------------------------------------
def group_medians(data) -> dict:
    """``{group: {impl: (median_s, benchmark entry)}}`` of a pytest-benchmark JSON payload."""
    groups: dict = {}
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        group = info.get("group") or b.get("group") or b["name"]
        groups.setdefault(group, {})[info.get("impl", "fastdgm")] = (b["stats"]["median"], b)
    return groups


def group_ratios(impls: dict) -> dict:
    """Ratios of one group, from ``{impl: median_s}``.

    ``{impl: median_impl / median_fastdgm}`` for every peer (above 1: fastdgm is faster),
    ``{floor: median_fastdgm / median_floor}`` for the floors (how far above the floor).
    """
    fast = impls.get("fastdgm")
    if not fast:
        return {}
    return {impl: (fast / med if impl in FLOORS else med / fast)
            for impl, med in impls.items() if impl != "fastdgm" and med > 0}


def records_from_json(data, kernels=None) -> list:
    """One record per fastdgm entry of a pytest-benchmark JSON payload, ratios of its group included."""
    records = []
    for group, impls in group_medians(data).items():
        if "fastdgm" not in impls:
            continue
        med, b = impls["fastdgm"]
        info = b.get("extra_info", {})
        kernel = info.get("kernel") or group
        if kernels is not None and kernel not in kernels:
            continue
        params = {k: info[k] for k in SIZE_KEYS if isinstance(info.get(k), (int, float)) and info[k] > 0}
        if "C" not in params and isinstance(info.get("q"), (int, float)):
            params["C"] = info["q"]                                  # Potts states
        if "nthreads" in info:
            params["threads"] = info["nthreads"]
        if "joint" in kernel and "C" in params and "d" in params:   # O(C^d): fit on table cells
            params["cells"] = params.pop("C") ** params.pop("d")
        labels = {k: v for k, v in info.items() if isinstance(v, str) and k in LABEL_KEYS}
        items = info.get("items") or info.get("updates") or params.get("n")
        ratios = group_ratios({impl: m for impl, (m, _) in impls.items()})
        peers = {k: v for k, v in ratios.items() if k not in FLOORS}
        main = "numpy" if "numpy" in peers else ("fastdgm_1thread" if "fastdgm_1thread" in peers else None)
        rec = {"kernel": kernel, "name": group, "params": params, "labels": labels,
               "median_s": med, "baseline_s": impls[main][0] if main else None,
               "speedup": peers.get(main) if main else None,
               "throughput": items / med if items else None, "items": items}
        for impl, r in ratios.items():
            rec[("floor_ratio_" if impl in FLOORS else "speedup_") + impl] = r
        records.append(rec)
    return records


# ---------------------------------------------------------------------------------------
# the text table of fastdgm bench
# ---------------------------------------------------------------------------------------


def fmt_params(p: dict) -> str:
    """``"n=1e6 C=16 threads=1"``: a case's sizes on one line."""
    return " ".join(f"{k}={_short(v)}" for k, v in p.items())


def _short(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:g}"
    v = int(v)
    if v >= 10**4 and v == 10 ** round(math.log10(v)):
        return f"1e{round(math.log10(v))}"
    return str(v)


def _rate(x) -> str:
    if x is None:
        return "-"
    for unit, f in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= f:
            return f"{x / f:.2f}{unit}/s"
    return f"{x:.1f}/s"


def format_report(records) -> tuple[str, dict]:
    """The text table and the ``{kernel: exponents}`` of a list of records."""
    by_kernel: dict[str, list] = {}
    for r in records:
        by_kernel.setdefault(r["kernel"], []).append(r)
    lines, exponents = [], {}
    head = f"{'kernel':24s} {'sizes':34s} {'median':>10s} {'throughput':>12s} {'vs numpy':>9s}"
    lines += [head, "-" * len(head)]
    for kernel, recs in by_kernel.items():
        ok = [r for r in recs if "error" not in r]
        for r in recs:
            if "error" in r:
                lines.append(f"{kernel:24s} {r['error']}")
                continue
            sp = f"x{r['speedup']:.2f}" if r.get("speedup") else "-"
            sizes = " ".join([*(f"{k}={v}" for k, v in r.get("labels", {}).items()),
                              fmt_params(r["params"])])
            lines.append(f"{kernel:24s} {sizes:34s} {r['median_s'] * 1e3:8.3f}ms "
                         f"{_rate(r.get('throughput')):>12s} {sp:>9s}")
        single = [r for r in ok if r["params"].get("threads", 1) == 1] or ok
        exp = fit_exponents(single)
        thr = [r for r in ok if "threads" in r["params"]]
        texp = fit_exponents(thr) if len({r["params"]["threads"] for r in thr}) > 1 else {}
        if "threads" in texp and len(exp) >= 0:
            exp["threads"] = texp["threads"]
        exponents[kernel] = exp
        if exp:
            lines.append(f"{'':24s} growth: time ∝ " + " ".join(f"{k}^{v:.2f}" for k, v in exp.items()))
    lines.append("vs numpy: median of the numpy/scipy baseline / median of fastdgm, timed in the same run "
                 "(kernels named *threads*: one thread / this thread count)")
    return "\n".join(lines), exponents


def plot_records(records, path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import check_out_path

    path = check_out_path(path, os.path.splitext(os.fspath(path))[1] or ".png")
    kernels = sorted({r["kernel"] for r in records if "error" not in r})
    ncol = min(3, max(1, len(kernels)))
    nrow = -(-len(kernels) // ncol) or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.6 * nrow), squeeze=False)
    for ax, kernel in zip(axes.ravel(), kernels):
        recs = [r for r in records if r["kernel"] == kernel and "error" not in r
                and r["params"].get("threads", 1) == 1]
        keys = [k for k in SIZE_KEYS if len({r["params"].get(k) for r in recs}) > 1]
        x_key = keys[0] if keys else None
        other = keys[1:]
        groups: dict = {}
        for r in recs:
            groups.setdefault(tuple(r["params"].get(k) for k in other), []).append(r)
        for g, rs in groups.items():
            rs = sorted(rs, key=lambda r: r["params"].get(x_key, 0))
            xs = [r["params"].get(x_key, 1) for r in rs]
            label = " ".join(f"{k}={_short(v)}" for k, v in zip(other, g))
            line, = ax.loglog(xs, [r["median_s"] for r in rs], "o-", label=f"fastdgm {label}")
            if all(r.get("baseline_s") for r in rs):
                ax.loglog(xs, [r["baseline_s"] for r in rs], "s--", color=line.get_color(),
                          alpha=0.6, label=f"numpy {label}")
        ax.set_title(kernel)
        ax.set_xlabel(x_key or "")
        ax.set_ylabel("seconds")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(kernels):]:
        ax.axis("off")
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100, format=os.path.splitext(path)[1][1:] or "png")
    finally:
        plt.close(fig)
    return path


def write_json(path, payload) -> str:
    from .._io import check_out_path

    path = check_out_path(path, ".json")
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
    return path


# ---------------------------------------------------------------------------------------
# the README tables
# ---------------------------------------------------------------------------------------
@dataclass
class Results:
    """Medians of pytest-benchmark runs, merged over files, with what the README tables need.

    Attributes
    ----------
    groups : dict
        ``{group: {impl: median_s}}``.
    paired : dict
        ``{group: (median of the interleaved speed-ups, rounds)}`` of ``measure_threads`` groups.
    serial : dict
        ``{group: serial fraction of the one-thread call}``.
    iterations : dict
        ``{group: EM iterations of the peer}`` of groups with a ``fastdgm_1estep`` entry.
    """

    groups: dict = field(default_factory=dict)
    paired: dict = field(default_factory=dict)
    serial: dict = field(default_factory=dict)
    iterations: dict = field(default_factory=dict)


def load(paths) -> Results:
    """The :class:`Results` of pytest-benchmark JSON files (a later file overrides)."""
    res = Results()
    for path in paths:
        with open(path) as f:
            for group, impls in group_medians(json.load(f)).items():
                res.groups.setdefault(group, {}).update({impl: med for impl, (med, _) in impls.items()})
                info = impls["fastdgm"][1].get("extra_info", {}) if "fastdgm" in impls else {}
                if "paired_speedup" in info:
                    res.paired[group] = (info["paired_speedup"], info["paired_rounds"])
                if "serial_fraction" in info:
                    res.serial[group] = info["serial_fraction"]
                if "iterations" in info and "fastdgm_1estep" in impls:
                    res.iterations[group] = int(info["iterations"])
    return res


def _ms(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} µs"


def text(res: Results) -> str:
    """One line per group: fastdgm's median, each other entry's median and ratio."""
    lines = []
    for group, impls in res.groups.items():
        ratios = group_ratios(impls)
        parts = [f"{impl}={_ms(impls[impl])} (x{r:.2f})" for impl, r in ratios.items()]
        fast = _ms(impls["fastdgm"]) if "fastdgm" in impls else "-"
        if group in res.paired:
            parts.append(f"paired x{res.paired[group][0]:.2f} ({res.paired[group][1]} rounds)")
        lines.append(f"{group:34s} fastdgm={fast:>10s}  " + "  ".join(parts))
    return "\n".join(lines)


def performance_md(res: Results) -> str:
    """Markdown: fastdgm vs each peer (ratio = peer / fastdgm), groups with a peer only."""
    rows = ["| case | fastdgm | peer: median (peer / fastdgm) |", "|---|---:|---|"]
    for group, impls in res.groups.items():
        if group in res.iterations:
            rows.append(_per_iteration_row(group, impls, res.iterations[group]))
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


def limit_md(res: Results) -> str:
    """Markdown: fastdgm next to its floors (ratio = fastdgm / floor)."""
    rows = ["| case | fastdgm | uniforms alone | fastdgm / uniforms | one read of the input | fastdgm / read |",
            "|---|---:|---:|---:|---:|---:|"]
    for group, impls in res.groups.items():
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


def threads_md(res: Results) -> str:
    """Markdown: two threads (``shared-*``: the default count beside a busy loop per core) vs
    one, by the entries' medians and by the interleaved pairs; the serial fraction of the
    one-thread call (outside the parallel kernels) and its Amdahl bounds on 16 and 64 threads."""
    rows = ["| case | 2 threads (shared-*: default) | 1 thread | speed-up (medians of the entries) "
            "| speed-up (median of interleaved pairs) | serial fraction | Amdahl bound 16 / 64 threads |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for group, impls in res.groups.items():
        if group not in res.paired or "fastdgm_1thread" not in impls:
            continue
        two, one = impls["fastdgm"], impls["fastdgm_1thread"]
        sp, n = res.paired[group]
        if group in res.serial:
            f = res.serial[group]
            serial = f"{100 * f:.1f}% | {amdahl(f, 16):.1f}x / {amdahl(f, 64):.1f}x"
        else:
            serial = "- | -"
        rows.append(f"| {group} | {_ms(two)} | {_ms(one)} | {one / two:.2f} | **{sp:.2f}** ({n} pairs) | {serial} |")
    return "\n".join(rows)


def rewrite_readme(path, res: Results) -> None:
    """Rewrite the generated tables of the README at ``path`` between their markers."""
    with open(path) as f:
        s = f.read()
    for name, table in (("performance", performance_md(res)), ("limit", limit_md(res)),
                        ("threads", threads_md(res))):
        pat = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pat.search(s) and name == "threads":
            continue                       # optional table
        if not pat.search(s):
            raise SystemExit(f"{path}: no <!-- bench:{name} --> ... <!-- /bench:{name} --> markers")
        s = pat.sub(lambda m: m.group(1) + table + "\n" + m.group(2), s)
    with open(path, "w") as f:
        f.write(s)


def main(argv=None) -> int:
    """``python benchmarks/report.py JSON... [--markdown] [--readme README.md]``."""
    ap = argparse.ArgumentParser(description="Ratios and README tables from pytest-benchmark JSON")
    ap.add_argument("json", nargs="+", help="pytest-benchmark JSON files (--benchmark-json=FILE)")
    ap.add_argument("--markdown", action="store_true", help="print the README tables")
    ap.add_argument("--readme", help="rewrite the tables of this README in place")
    args = ap.parse_args(argv)
    res = load(args.json)
    if args.readme:
        rewrite_readme(args.readme, res)
    if args.markdown:
        print(performance_md(res))
        print()
        print(limit_md(res))
        print()
        print(threads_md(res))
    else:
        print(text(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
