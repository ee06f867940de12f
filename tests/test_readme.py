"""The README's Python examples run as written."""
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def _blocks():
    if not os.path.exists(README):  # running against an installed package elsewhere
        return []
    with open(README) as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("i", range(len(_blocks())))
def test_readme_example(i, tmp_path, monkeypatch):
    code = _blocks()[i]
    if "dask_jobqueue" in code:
        pytest.skip("needs a SLURM cluster")
    if "import dask" in code:
        pytest.importorskip("distributed")
    if "fastdgm.table" in code:
        pytest.importorskip("pandas")
    if "from sklearn" in code:
        pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md[python block {i}]", "exec"), {"__name__": "__main__"})


def test_readme_has_examples():
    assert len(_blocks()) >= 1
