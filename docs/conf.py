"""Sphinx configuration of the fastdgm documentation (``sphinx-build -W docs docs/_build``).

The API pages are generated from the docstrings of the installed ``fastdgm`` (numpydoc +
autosummary); the guides are the README's sections (myst-parser).
"""
import fastdgm

project = "fastdgm"
author = "the fastdgm developers"
copyright = "2026, the fastdgm developers"
release = fastdgm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autosummary_generate = True
autodoc_typehints = "none"             # numpydoc shows the documented types
numpydoc_show_class_members = False    # the class pages list members through autosummary
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()     # validated by tests/test_docstrings.py
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]
html_theme = "alabaster"
html_title = f"fastdgm {release}"
