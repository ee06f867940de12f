"""``fastdgm bench --density``: the selection table on a small data set laid out like the benchmark."""
import numpy as np

from fastdgm.bench.density import density_table, format_density_table
from fastdgm.density_data import density_benchmark_info


def _write(home, name, gen):
    """Synthetic data with the standard set's shapes (the loader checks them)."""
    info = density_benchmark_info(name)
    (home / name).mkdir(parents=True)
    for split, n in (("train", info.n_train), ("valid", info.n_valid), ("test", info.n_test)):
        X = (gen.random((n, info.d)) < np.linspace(0.1, 0.9, info.d)).astype(int)
        X[:, 1] = X[:, 0]                                  # a dependence the tree picks up
        np.savetxt(home / name / f"{name}.{split}.data", X, fmt="%d", delimiter=",")


def test_table_selects_on_valid_and_reports_test_and_valid(tmp_path):
    _write(tmp_path, "nltcs", np.random.default_rng(0))
    rows = density_table(tmp_path, names=["nltcs"], models=["Factorized", "ChowLiuTree"])
    (row,) = rows
    assert (row["name"], row["d"], row["n"]) == ("nltcs", 16, 16181)
    fac, clt = row["models"]["Factorized"], row["models"]["ChowLiuTree"]
    assert clt["test"] > fac["test"]                       # column 1 copies column 0
    assert fac["params"]["alpha"] in (0.1, 1.0) and np.isfinite(fac["valid"])
    text = format_density_table(rows)
    assert f"**{clt['test']:.2f}** / {clt['valid']:.2f}" in text
    assert f"{fac['test']:.2f} / {fac['valid']:.2f} (alpha=" in text
    assert "Selection of every model on every data set:" in text
    assert "ChowLiuTree fit vs numpy/scipy" in text
