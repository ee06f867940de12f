"""Ratios and README tables from pytest-benchmark JSON: ``python benchmarks/report.py FILE [...]``.

The report is :mod:`fastdgm.bench.report` (one report for ``fastdgm bench`` and the README); this
file only runs it: ``--markdown`` prints the README tables, ``--readme README.md`` rewrites them.
"""
import sys

from fastdgm.bench.report import main

if __name__ == "__main__":
    sys.exit(main())
