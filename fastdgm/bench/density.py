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

from .timing import one_thread_time

import numpy as np

__all__ = ["density_table", "format_density_table", "model_grids"]

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
    if train.shape[1] <= 70:        # pgmpy's TreeSearch scores every pair in Python: small sets only
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
    from fastdgm.slow.fit_baselines import chow_liu_binary_numpy, mixture_em_iteration_numpy

    cls = model_grids()[key]
    grid, fixed = cls.density_grid(*train.shape)
    t0 = time.perf_counter()
    sel = fd.select(cls, train, valid, grid, n_states=2, **fixed)
    total = time.perf_counter() - t0
    best = next(r for r in sel.table if r["params"] == sel.best_params)
    row["models"][key] = {"test": sel.best.score(test), "valid": best["valid"], "params": sel.best_params,
                          "fit_s": best["fit_seconds"], "select_s": total}
    if key == "ChowLiuTree":
        a = sel.best_params["alpha"]
        t_fd = one_thread_time(lambda: fd.ChowLiuTree.fit(train, n_states=2, alpha=a), repeat=3)
        t_np = one_thread_time(lambda: chow_liu_binary_numpy(train, alpha=a), repeat=3)
        row["ratios"]["clt_numpy"] = t_np / t_fd
        for peer, t in _peer_times(train).items():
            row["ratios"][peer] = t / t_fd
    if key == "Mixture":
        m = sel.best
        t_fd = one_thread_time(lambda: m.em_statistics(train), repeat=3)
        t_np = one_thread_time(lambda: mixture_em_iteration_numpy(train, m.log_weights, m.log_components), repeat=3)
        row["ratios"]["em_iteration_numpy"] = t_np / t_fd


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
            row = {"name": name, "d": train.shape[1], "n": train.shape[0], "models": {}, "ratios": {}}
            for key in keys:
                if grids[key].density_grid(*train.shape) is not None:   # else: not on this set
                    _select(row, key, train, valid, test)
                bar.update(1)
            rows.append(row)
            bar.write(f"{name}: " + ", ".join(f"{k} {v['test']:.2f}" for k, v in row["models"].items()))
    return rows


def _setting(params: dict) -> str:
    short = {"n_components": "K", "n_hidden": "K"}
    return ", ".join(f"{short.get(k, k)}={v}" for k, v in params.items())


RATIO_NAMES = {"clt_numpy": "ChowLiuTree fit vs numpy/scipy", "deeprob_clt": "vs deeprob-kit BinaryCLT",
               "pgmpy_clt": "vs pgmpy TreeSearch", "em_iteration_numpy": "EM iteration vs numpy GEMMs"}


def format_density_table(rows: list[dict]) -> str:
    """Two markdown tables: the log-likelihoods, then the fit-time ratios.

    First table, one cell per model: test / valid log-likelihood (nats per sample, the best
    test value of the row in bold), the chosen setting and the seconds of the whole selection.
    Second table: the fit-time ratios (other / fastdgm) of :func:`density_table`.

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
            cells.append(f"{'**' + test + '**' if m['test'] == best else test} / {m['valid']:.2f} "
                         f"({_setting(m['params'])}; {m['select_s']:.1f} s)")
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(m["select_s"] for r in rows for m in r["models"].values())
    lines.append("")
    lines.append(f"Selection of every model on every data set: {total:.0f} s.")
    ratio_keys = [k for k in RATIO_NAMES if any(k in r["ratios"] for r in rows)]
    if ratio_keys:
        lines += ["", "| data set | " + " | ".join(RATIO_NAMES[k] for k in ratio_keys) + " |",
                  "|" + "---|" * (len(ratio_keys) + 1)]
        for r in rows:
            lines.append(f"| {r['name']} | " + " | ".join(
                f"{r['ratios'][k]:.1f}x" if k in r["ratios"] else "-" for k in ratio_keys) + " |")
    return "\n".join(lines)
