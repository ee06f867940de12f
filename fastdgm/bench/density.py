"""``fastdgm bench --density``: the density-estimation benchmark, model by model.

For each data set found under the data home: d, n, the test log-likelihood (nats per sample)
of every model with its hyper-parameters chosen on the validation split, the fit time of the
chosen setting, and fit-time ratios against the numpy/scipy baselines
(:mod:`fastdgm.slow.fit_baselines`) and the peers installed (deeprob-kit's BinaryCLT,
pgmpy's Chow-Liu TreeSearch on the smaller sets), timed in the same run with the same timer.
"""
from __future__ import annotations

import time
from typing import Any

from .reference import HCLT_REFERENCE, REFERENCE_SOURCE
from .timing import interleaved_times, one_thread_time

import numpy as np

__all__ = ["density_table", "format_density_table", "model_grids", "em_iteration_ratio", "PATIENCE"]

PATIENCE = 3
"""Early stopping of every EM fit of the selections (``fd.select(..., early_stopping=PATIENCE)``):
stop when the valid log-likelihood has not gained 1e-4 (relative) for this many iterations and
keep the best iterate on valid; every selection also fits the distinct training rows weighted
by their counts (``dedupe=True``: the same likelihood)."""

PGMPY_CELLS = 2_000_000
"""pgmpy's TreeSearch is timed on training sets of at most 70 columns and this many cells
(nltcs, plants; on kdd, 180,092 x 64, one fit took about two minutes)."""


def model_grids() -> dict[str, Any]:
    """Model name -> class, for every registered model with a density-benchmark grid
    (:meth:`fastdgm.models.base.Model.density_grid`)."""
    from fastdgm.models.base import registered_models

    return {name: cls for name, cls in registered_models().items() if cls.density_grid(100, 10) is not None}


def _peer_times(train) -> dict:
    """Fit times of the Chow-Liu peers that are installed (absent peers are left out)."""
    out = {}
    try:
        from deeprob.spn.structure.cltree import BinaryCLT

        def deeprob():
            BinaryCLT(list(range(train.shape[1])), root=0).fit(train, [[0, 1]] * train.shape[1], alpha=1.0,
                                                               random_state=0)
        out["deeprob_clt"] = one_thread_time(deeprob)
    except ImportError:
        pass
    if train.shape[1] <= 70 and train.size <= PGMPY_CELLS:  # TreeSearch scores pairs in Python: small sets
        try:
            import pandas as pd
            from pgmpy.estimators import TreeSearch

            df = pd.DataFrame(train.astype(np.int64), columns=[f"v{j}" for j in range(train.shape[1])])
            out["pgmpy_clt"] = one_thread_time(lambda: TreeSearch(df, root_node="v0").estimate(
                estimator_type="chow-liu", show_progress=False))
        except Exception:           # absent or incompatible peer: left out of the table
            pass
    return out


def _select(row: dict, key: str, train, valid, test) -> None:
    """Select model ``key`` on the validation split; record its test score, timing and ratios in ``row``."""
    import fastdgm as fd
    from fastdgm.slow.fit_baselines import chow_liu_binary_numpy

    cls = model_grids()[key]
    grid, fixed = cls.density_grid(*train.shape)
    t0 = time.perf_counter()
    sel = fd.select(cls, train, valid, grid, n_states=2, early_stopping=PATIENCE, dedupe=True, **fixed)
    total = time.perf_counter() - t0
    best = next(r for r in sel.table if r["params"] == sel.best_params)
    row["models"][key] = {"test": sel.best.score(test), "valid": best["valid"], "params": sel.best_params,
                          "fit_s": best["fit_seconds"], "select_s": total, "n_iter": best.get("n_iter")}
    if key == "ChowLiuTree":
        a = sel.best_params["alpha"]
        t_fd = one_thread_time(lambda: fd.ChowLiuTree.fit(train, n_states=2, alpha=a), repeat=3)
        t_np = one_thread_time(lambda: chow_liu_binary_numpy(train, alpha=a), repeat=3)
        row["ratios"]["clt_numpy"] = t_np / t_fd
        for peer, t in _peer_times(train).items():
            row["ratios"][peer] = t / t_fd


def em_iteration_ratio(X, n_components: int = 20, rounds: int = 5) -> dict:
    """One EM iteration of a Mixture (E-step and sufficient statistics) against the two-GEMM
    numpy iteration, one thread each (fastdgm and BLAS), timed interleaved.

    The case of the README's ratio table (``benchmarks/bench_em_blas.py``): a K-component
    mixture fitted for two iterations on the first 2000 rows, then one iteration over all of X.

    Parameters
    ----------
    X : ndarray of uint8, shape (n, d)
        Binary data.
    n_components : int
        K.
    rounds : int
        Interleaved rounds (medians).

    Returns
    -------
    dict
        ``{"fastdgm_s", "numpy_s", "ratio"}``: the medians (s) and numpy / fastdgm.
    """
    import fastdgm as fd
    from fastdgm.slow.fit_baselines import mixture_em_iteration_numpy

    m = fd.Mixture.fit(X[:2000], n_components=n_components, n_states=2, rng=0, max_iter=2)
    t = interleaved_times({"fastdgm": lambda: m.em_statistics(X),
                           "numpy": lambda: mixture_em_iteration_numpy(X, m.log_weights, m.log_components)},
                          rounds=rounds, one_thread=True)
    return {"fastdgm_s": t["fastdgm"], "numpy_s": t["numpy"], "ratio": t["numpy"] / t["fastdgm"]}


def density_table(data_home=None, names=None, models=None, progress: bool = False) -> list[dict]:
    """One row per data set: sizes, test/valid log-likelihoods, fit times and speed ratios.

    Parameters
    ----------
    data_home : str, optional
        Where the data sets are (see :func:`fastdgm.datasets.load_density_benchmark`).
    names : list of str, optional
        Data sets (default: every standard one present under ``data_home``).
    models : list of str, optional
        Keys of :func:`model_grids` (default: all).
    progress : bool
        A progress bar of the selections on stderr, and one line per data set.

    Returns
    -------
    list of dict
    """
    from fastdgm._progress import Progress
    from fastdgm.density_data import list_density_benchmarks, load_density_benchmark

    sets = []
    for name in names or list_density_benchmarks():
        try:
            sets.append((name, load_density_benchmark(name, data_home=data_home)))
        except FileNotFoundError:
            if names:
                raise
    grids = model_grids()
    keys = list(models or grids)
    rows = []
    with Progress(len(sets) * len(keys), unit="selections", enabled=progress, desc="density table") as bar:
        for name, (train, valid, test) in sets:
            row = {"name": name, "d": train.shape[1], "n": train.shape[0], "models": {}, "ratios": {},
                   "reference": HCLT_REFERENCE.get(name)}
            for key in keys:
                if grids[key].density_grid(*train.shape) is not None:   # else: not on this set
                    _select(row, key, train, valid, test)
                bar.update(1)
            em = em_iteration_ratio(train)
            row["em_iteration"] = em
            row["ratios"]["em_iteration_numpy"] = em["ratio"]
            rows.append(row)
            bar.write(f"{name}: " + ", ".join(f"{k} {v['test']:.2f}" for k, v in row["models"].items()))
    return rows


def _setting(params: dict) -> str:
    short = {"n_components": "K", "n_hidden": "K"}
    return ", ".join(f"{short.get(k, k)}={v}" for k, v in params.items())


RATIO_NAMES = {"clt_numpy": "ChowLiuTree fit vs numpy/scipy", "deeprob_clt": "vs deeprob-kit BinaryCLT",
               "pgmpy_clt": "vs pgmpy TreeSearch", "em_iteration_numpy": "EM iteration vs numpy GEMMs"}


def format_density_table(rows: list[dict]) -> str:
    """Three markdown tables: the log-likelihoods, the comparison with the published
    reference, then the fit-time ratios.

    First table, one cell per model: test / valid log-likelihood (nats per sample, the best
    test value of the row in bold), the chosen setting (with the EM iterations of its
    early-stopped fit, ``it``) and the seconds of the whole selection.
    Second table, per data set: the test log-likelihood of the model with the best valid score
    (the model a user selecting on valid would keep; its name), the
    HiddenChowLiuTree's, the published HCLT reference (:mod:`fastdgm.bench.reference`), the
    difference, the fit time of the chosen setting of the best model, and one Mixture EM
    iteration against the two-GEMM numpy iteration (one thread each). Third table: the
    fit-time ratios (other / fastdgm) of :func:`density_table`.

    Parameters
    ----------
    rows : list of dict
        The result of :func:`density_table`.

    Returns
    -------
    str
    """
    if not rows:
        return "no density-benchmark data set found (see fastdgm.datasets.load_density_benchmark)"
    keys = list(dict.fromkeys(k for r in rows for k in r["models"]))    # every model of any row
    head = ["data set", "d", "n train"] + keys
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        best = max(m["test"] for m in r["models"].values())
        cells = [r["name"], str(r["d"]), str(r["n"])]
        for k in keys:
            m = r["models"].get(k)
            if m is None:
                cells.append("-")
                continue
            test = f"{m['test']:.2f}"
            its = f", {m['n_iter']} it" if m.get("n_iter") else ""
            cells.append(f"{'**' + test + '**' if m['test'] == best else test} / {m['valid']:.2f} "
                         f"({_setting(m['params'])}{its}; {m['select_s']:.1f} s)")
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(m["select_s"] for r in rows for m in r["models"].values())
    lines.append("")
    lines.append(f"Selection of every model on every data set: {total:.0f} s.")
    lines += ["", _reference_table(rows)]
    ratio_keys = [k for k in RATIO_NAMES if any(k in r["ratios"] for r in rows)]
    if ratio_keys:
        lines += ["", "| data set | " + " | ".join(RATIO_NAMES[k] for k in ratio_keys) + " |",
                  "|" + "---|" * (len(ratio_keys) + 1)]
        for r in rows:
            lines.append(f"| {r['name']} | " + " | ".join(
                f"{r['ratios'][k]:.1f}x" if k in r["ratios"] else "-" for k in ratio_keys) + " |")
    return "\n".join(lines)


REFERENCE_HEAD = ["data set", "fastdgm test (model best on valid)", "HiddenChowLiuTree test", "published HCLT",
                  "fastdgm - published", "fit s (that model, chosen setting)", "EM iteration vs numpy (1 thread)"]


def _reference_table(rows: list[dict]) -> str:
    """Per data set: the test log-likelihoods next to the published HCLT one, fit time, EM ratio."""
    lines = ["| " + " | ".join(REFERENCE_HEAD) + " |", "|" + "---|" * len(REFERENCE_HEAD)]
    for r in rows:
        ref = r.get("reference")
        cells = [r["name"]]
        if r["models"]:
            key, best = max(r["models"].items(), key=lambda kv: kv[1]["valid"])   # chosen on valid, as a user would
            cells.append(f"{best['test']:.3f} ({key})")
        else:
            key, best = None, None
            cells.append("-")
        hclt = r["models"].get("HiddenChowLiuTree")
        cells.append(f"{hclt['test']:.3f}" if hclt else "-")
        cells.append(f"{ref:.3f}" if ref is not None else "-")
        cells.append(f"{best['test'] - ref:+.3f}" if best and ref is not None else "-")
        cells.append(f"{best['fit_s']:.2f}" if best else "-")
        em = r.get("em_iteration")
        cells.append(f"{em['ratio']:.1f}x ({em['fastdgm_s'] * 1e3:.1f} vs {em['numpy_s'] * 1e3:.1f} ms)"
                     if em else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Published reference: {REFERENCE_SOURCE}. EM iteration: one iteration of a K = 20 "
              "Mixture (fastdgm) / the two-GEMM numpy iteration, one thread each, interleaved medians."]
    return "\n".join(lines)
