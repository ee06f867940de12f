"""The package as a dependency: cheap import, version, typing marker, configuration report."""
import io
import os
import subprocess
import sys

import pytest

import fastdgm as fd


def test_import_is_cheap_and_silent():
    code = ("import sys, fastdgm; "
            "assert 'numba' not in sys.modules, 'numba imported at import time'; "
            "print(fastdgm.__version__)")
    # run beside the package in use: "-c" puts the working directory first on sys.path,
    # and a source checkout there would shadow the installed package
    here = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=here)
    assert r.stdout.strip() == fd.__version__
    assert r.stderr == ""


def test_version_and_typing_marker():
    assert isinstance(fd.__version__, str) and fd.__version__.count(".") >= 2
    assert os.path.exists(os.path.join(os.path.dirname(fd.__file__), "py.typed"))


def test_show_config():
    buf = io.StringIO()
    fd.show_config(file=buf)
    out = buf.getvalue()
    for word in ("fastdgm", "numpy", "numba", "threading layer", "threads", "OpenMP", "JIT cache"):
        assert word in out


def test_public_names_resolve():
    for name in fd.__all__:
        assert getattr(fd, name) is not None, name


def test_version_matches_the_changelog():
    """The release in fastdgm.__version__ is the newest section of docs/changelog.md."""
    import os
    import re

    path = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "changelog.md")
    if not os.path.exists(path):
        pytest.skip("no source checkout beside the tests")
    with open(path, encoding="utf-8") as f:
        first = re.search(r"^## (\S+)", f.read(), flags=re.M)
    assert first is not None and first.group(1) == fd.__version__
