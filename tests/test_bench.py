"""One benchmark system: one case list, one timing plan, one report module, public names only
across the boundary between the package (fastdgm.bench) and the repository's benchmarks/."""
import ast
import json
import pathlib

import pytest

from fastdgm.bench import cases, embedded, report, timing

_BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark_files():
    if not _BENCHMARKS.is_dir():
        pytest.skip("no benchmarks/ directory next to tests/ (an installed package)")
    return sorted(_BENCHMARKS.glob("*.py"))


def test_the_embedded_runner_times_the_case_list():
    assert embedded.embedded_kernel_names(True) == embedded.embedded_kernel_names(False) == set(cases.CASES)
    for case in cases.CASES.values():
        for quick in (True, False):
            pts = case.points(quick)
            assert pts and all(p["threads"] >= 1 for p in pts)
            assert len({tuple(sorted(p.items())) for p in pts}) == len(pts)     # no size twice
    t = cases.setup("sample-joint", cells=4**3)
    assert set(t.fns) == {"fastdgm", "numpy"} and t.items == 1000 and t.data["table"].shape == (4, 4, 4)
    for fn in t.fns.values():                     # both sides draw 1000 rows of the same table
        assert fn().shape == (1000, 3)
    with pytest.raises(ValueError, match="kernel must be one of"):
        cases.setup("nonsense")


def test_benchmarks_cross_the_boundary_by_public_names_only():
    """benchmarks/*.py import fastdgm.bench by public modules and names; none keeps its own
    case list, timer or report (bench_cases.py derives its cases, report.py runs fastdgm's)."""
    for path in _benchmark_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastdgm.bench"):
                assert not any(part.startswith("_") for part in node.module.split(".")), (path.name, node.module)
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name}:{node.lineno} imports private names {private}"
    src = (_BENCHMARKS / "report.py").read_text(encoding="utf-8")
    assert "from fastdgm.bench.report import main" in src and "def " not in src
    src = (_BENCHMARKS / "bench_cases.py").read_text(encoding="utf-8")
    assert "CASES" in src and "_grid" not in src and "10**" not in src
    assert "timing_plan" in (_BENCHMARKS / "conftest.py").read_text(encoding="utf-8")


def _private_imports(tree):
    """(line, what) of every import of a fastdgm module path with a component starting with
    ``_`` and of every ``from fastdgm... import _name``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods = [node.module or ""]
            if mods[0].split(".")[0] == "fastdgm":
                mods += [f"{mods[0]}.{a.name}" for a in node.names if a.name != "*"]
        else:
            continue
        private = [m for m in mods if m.split(".")[0] == "fastdgm"
                   and any(p.startswith("_") for p in m.split(".")[1:])]
        if private:
            found.append((node.lineno, private[0]))
    return found


def test_benchmarks_import_no_private_fastdgm_module_or_name():
    """benchmarks/*.py reach the package by public modules and names only (internals they
    genuinely time or instrument are in :mod:`fastdgm.bench.internals`)."""
    bad = {}
    for path in _benchmark_files():
        found = _private_imports(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            bad[path.name] = found
    assert not bad, f"private fastdgm imports in benchmarks/: {bad}"


def test_the_private_import_check_finds_them():
    src = """
import fastdgm.kernels._threshold
from fastdgm.models import _treemix_em as tm
from fastdgm.models._cooccurrence import choose_method
from fastdgm.models.hclt import _helper
import numpy._core
from fastdgm.models import pairwise_counts
from fastdgm.bench.internals import PairCounter
"""
    assert [line for line, _ in _private_imports(ast.parse(src))] == [2, 3, 4, 5]


def test_calls_per_round_fills_min_time():
    calls = []
    clock = iter(range(10**6))

    def fn():
        calls.append(next(clock))

    assert timing.calls_per_round(fn, 0.0) == 1
    assert timing.timing_plan(True) == (5, 0.05) and timing.timing_plan(False) == (7, 0.2)
    k = timing.calls_per_round(fn, 1e-3)
    assert isinstance(k, int) and k >= 1 and calls


def test_interleaved_times_calls_each_in_turn():
    order = []
    out = timing.interleaved_times({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3)
    assert order == ["a", "b"] * 4 and set(out) == {"a", "b"} and all(v >= 0 for v in out.values())


def _payload():
    def entry(group, impl, median, **info):
        return {"name": f"test[{group}-{impl}]", "group": group, "stats": {"median": median},
                "extra_info": {"group": group, "impl": impl, **info}}

    return {"benchmarks": [
        entry("sample-joint cells=256 threads=1", "fastdgm", 0.001, kernel="sample-joint", cells=256,
              nthreads=1, items=1000),
        entry("sample-joint cells=256 threads=1", "numpy", 0.004, kernel="sample-joint"),
        entry("categorical-single-C16", "fastdgm", 0.002, kernel="categorical-single", n=10**6, C=16),
        entry("categorical-single-C16", "numpy", 0.010),
        entry("categorical-single-C16", "floor_uniforms", 0.001),
        entry("threads-x", "fastdgm", 0.5, kernel="threads-x", n=10, paired_speedup=1.8, paired_rounds=20,
              serial_fraction=0.1),
        entry("threads-x", "fastdgm_1thread", 1.0),
    ]}


def test_one_report_module_for_fastdgm_bench_and_the_readme(tmp_path):
    data = _payload()
    recs = {r["name"]: r for r in report.records_from_json(data)}
    r = recs["sample-joint cells=256 threads=1"]
    assert r["params"] == {"cells": 256, "threads": 1} and r["speedup"] == pytest.approx(4.0)
    assert r["throughput"] == pytest.approx(1000 / 0.001)
    assert recs["categorical-single-C16"]["floor_ratio_floor_uniforms"] == pytest.approx(2.0)
    text, _ = report.format_report(list(recs.values()))
    assert "sample-joint" in text and "x4.00" in text
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    res = report.load([path])
    assert res.paired == {"threads-x": (1.8, 20)} and res.serial == {"threads-x": 0.1}
    perf = report.performance_md(res)
    assert "| categorical-single-C16 | 2 ms | numpy 10 ms (**5.0x**) |" in perf
    assert "| categorical-single-C16 | 2 ms | 1 ms | 2.00 | - | - |" in report.limit_md(res)
    assert f"**1.80** (20 pairs) | 10.0% | {report.amdahl(0.1, 16):.1f}x" in report.threads_md(res)
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- bench:performance -->\nold\n<!-- /bench:performance -->\n"
                      "<!-- bench:limit -->\nold\n<!-- /bench:limit -->\n")
    assert report.main([str(path), "--readme", str(readme)]) == 0
    new = readme.read_text()
    assert "old" not in new and "numpy 10 ms (**5.0x**)" in new and "<!-- /bench:limit -->" in new
