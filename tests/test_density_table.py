"""``fastdgm bench --density``: the selection table on a small data set laid out like the benchmark."""
import numpy as np
import pytest

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


def test_reference_table_covers_the_twenty_sets():
    from fastdgm.bench.reference import HCLT_REFERENCE, HCLT_REFERENCE_SEEDS
    from fastdgm.density_data import list_density_benchmarks

    assert set(HCLT_REFERENCE) == set(list_density_benchmarks()) and len(HCLT_REFERENCE) == 20
    for name, seeds in HCLT_REFERENCE_SEEDS.items():
        assert len(seeds) == 5 and all(-300 < s < 0 for s in seeds), name
        assert min(seeds) <= HCLT_REFERENCE[name] <= max(seeds)
        assert abs(HCLT_REFERENCE[name] - sum(seeds) / 5) < 1e-12
    assert abs(HCLT_REFERENCE["nltcs"] - (-5.9993)) < 1e-4      # the five seeds' final-epoch test LL


def test_report_columns_reference_fit_time_and_em_ratio(tmp_path):
    _write(tmp_path, "nltcs", np.random.default_rng(1))
    rows = density_table(tmp_path, names=["nltcs"], models=["Factorized", "ChowLiuTree"])
    (row,) = rows
    assert row["reference"] == pytest.approx(-5.9993, abs=1e-4)
    em = row["em_iteration"]
    assert em["fastdgm_s"] > 0 and em["numpy_s"] > 0 and em["ratio"] == em["numpy_s"] / em["fastdgm_s"]
    text = format_density_table(rows)
    for head in ("fastdgm test (model best on valid)", "published HCLT", "fastdgm - published",
                 "fit s (that model, chosen setting)", "EM iteration vs numpy (1 thread)"):
        assert head in text
    clt = row["models"]["ChowLiuTree"]
    line = next(ln for ln in text.splitlines() if ln.startswith("| nltcs | ") and "(ChowLiuTree)" in ln)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == f"{clt['test']:.3f} (ChowLiuTree)" and cells[2] == "-"    # no HCLT fitted here
    assert cells[3] == "-5.999" and cells[4] == f"{clt['test'] - row['reference']:+.3f}"
    assert cells[5] == f"{clt['fit_s']:.2f}" and cells[6].startswith(f"{em['ratio']:.1f}x")
    assert "Tractable-PC-Regularization@05743c7" in text


def test_reference_table_of_a_set_without_reference():
    from fastdgm.bench.density import format_density_table as fmt

    row = {"name": "mine", "d": 3, "n": 10, "ratios": {}, "reference": None,
           "models": {"Factorized": {"test": -2.0, "valid": -2.1, "params": {"alpha": 1.0},
                                     "fit_s": 0.01, "select_s": 0.1}}}
    line = [ln for ln in fmt([row]).splitlines() if ln.startswith("| mine | ")][1]
    assert [c.strip() for c in line.strip("|").split("|")] == ["mine", "-2.000 (Factorized)", "-", "-", "-",
                                                               "0.01", "-"]


def test_reference_table_keeps_the_model_best_on_valid_not_on_test():
    from fastdgm.bench.density import format_density_table as fmt

    cell = {"params": {"alpha": 1.0}, "fit_s": 0.5, "select_s": 1.0}
    row = {"name": "nltcs", "d": 16, "n": 10, "ratios": {}, "reference": -6.0,
           "models": {"Factorized": {"test": -6.3, "valid": -6.0, **cell},       # best on valid
                      "ChowLiuTree": {"test": -6.1, "valid": -6.2, **cell}}}     # best on test
    line = [ln for ln in fmt([row]).splitlines() if ln.startswith("| nltcs | ")][1]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "-6.300 (Factorized)" and cells[4] == "-0.300"


def test_em_selections_stop_early_on_valid_and_fit_the_distinct_rows(tmp_path, monkeypatch):
    import fastdgm as fd
    from fastdgm.bench import density
    from fastdgm.density_data import load_density_benchmark
    from fastdgm.models import em
    from fastdgm.models._tables import distinct_rows

    _write(tmp_path, "nltcs", np.random.default_rng(1))
    monkeypatch.setattr(fd.Mixture, "density_grid",
                        classmethod(lambda cls, n, d: ({"n_components": [2]}, {"alpha": 0.1, "rng": 0, "max_iter": 40})))
    (row,) = density_table(tmp_path, names=["nltcs"], models=["Mixture"])
    m = row["models"]["Mixture"]
    train, valid, test = load_density_benchmark("nltcs", data_home=tmp_path)
    rows, counts = distinct_rows(train, np.empty(0))
    with em.validation_stop(valid, density.PATIENCE):
        ref = fd.Mixture.fit(rows, n_states=2, n_components=2, alpha=0.1, rng=0, max_iter=40, sample_weight=counts)
    assert m["n_iter"] == ref.n_iter_ and m["valid"] == ref.score(valid) and m["test"] == ref.score(test)
    assert f"(K=2, {ref.n_iter_} it;" in format_density_table([row])
