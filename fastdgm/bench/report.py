"""The text report, JSON and plot of benchmark records."""
from __future__ import annotations

import json
import math
import os

from .._atomic import atomic_output
from .timing import SIZE_KEYS, fit_exponents


def fmt_params(p: dict) -> str:
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


def _plot(records, path) -> str:
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


def _write_json(path, payload) -> str:
    from .._io import check_out_path

    path = check_out_path(path, ".json")
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
    return path


