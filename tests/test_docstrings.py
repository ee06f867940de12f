"""Numpydoc-complete docstrings for the public API (numpydoc's own validator).

Every name of ``fastdgm.__all__`` and every public method and property of the public classes
must have a summary, document each parameter (PR01/PR02) and, when it returns something, a
Returns section (RT01).
"""
import inspect

import pytest

import fastdgm as fd

validate = pytest.importorskip("numpydoc.validate").validate

# GL08: no docstring; SS01: no summary; PR01: a parameter not documented; PR02: a documented
# parameter that does not exist; RT01: no Returns section
CHECKS = {"GL08", "SS01", "PR01", "PR02", "RT01"}


def _public_objects():
    names = []
    for name in fd.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(fd, name)
        names.append(f"fastdgm.{name}")
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    names.append(f"fastdgm.{name}.{attr}")
        # methods inherited from the Model protocol are checked on Model itself
    return names


@pytest.mark.parametrize("name", _public_objects())
def test_numpydoc_complete(name):
    res = validate(name)
    errors = [f"{code}: {msg}" for code, msg in res["errors"] if code in CHECKS]
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)


def test_the_check_can_fail():
    def undocumented(x):
        return x

    undocumented.__doc__ = "Do a thing.\n"
    import types

    mod = types.ModuleType("fastdgm_docstring_probe")
    mod.undocumented = undocumented
    import sys

    sys.modules["fastdgm_docstring_probe"] = mod
    try:
        codes = {c for c, _ in validate("fastdgm_docstring_probe.undocumented")["errors"]}
    finally:
        del sys.modules["fastdgm_docstring_probe"]
    assert {"PR01", "RT01"} <= codes


def test_api_page_lists_every_public_name():
    import os

    api = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "api.rst")
    if not os.path.exists(api):
        pytest.skip("no docs/ beside the tests")
    listed = {line.strip() for line in open(api, encoding="utf-8")}
    missing = [n for n in fd.__all__ if not n.startswith("__") and n not in listed]
    assert not missing, f"docs/api.rst lacks {missing}"
