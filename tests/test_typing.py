"""The public API is typed (issue 9, item 7): mypy is clean on the package and on a typed user
script, and flags every deliberate error of a wrong one. Skipped without mypy."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("mypy")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "tests", "typing")


def _mypy(*targets):
    cmd = [sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "pyproject.toml"),
           "--no-incremental", "--cache-dir", os.devnull, *targets]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)


def _package_target():
    """The package as mypy should see it: the source folder in a checkout, else the installed
    package (``-p fastdgm``, found through its ``py.typed``)."""
    import fastdgm

    src = os.path.dirname(os.path.abspath(fastdgm.__file__))
    return [src] if os.path.dirname(src) == ROOT else ["-p", "fastdgm"]


def test_package_and_typed_example_are_clean():
    proc = _mypy(*_package_target())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout
    proc = _mypy(os.path.join(HERE, "ok.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout


def test_wrong_script_is_flagged_line_by_line():
    path = os.path.join(HERE, "bad.py")
    expected = {i for i, line in enumerate(open(path, encoding="utf-8"), 1) if re.search(r"#\s*E:", line)}
    proc = _mypy(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    flagged = {int(m) for m in re.findall(r"bad\.py:(\d+): error", proc.stdout)}
    assert expected and expected <= flagged, (sorted(expected - flagged), proc.stdout)
    assert flagged <= expected, (sorted(flagged - expected), proc.stdout)
