"""Bayesian network structure search vs pgmpy's HillClimbSearch on the bnlearn networks.

Data: n rows sampled (fastdgm's ancestral sampler, seed 0) from a network shipped in pgmpy
(``pgmpy.utils.get_example_model``: alarm, hepar2, win95pts; variables padded to the largest
number of states, the extra states never drawn). Both searches score BIC as pgmpy defines it
(fastdgm's score of its DAG equals pgmpy's ``BIC(df).score`` of it, checked here), start from the
empty graph with a tabu list of 100; fastdgm's default adds 50 seeded restarts (10 random edge
reversals each) and a final greedy climb. Reported per network: time of the structure search
(pgmpy) and of the whole fit (fastdgm defaults, search + tables, one thread, median of 3), both
scores (pgmpy's scorer),
and KL(truth || learned) in nats per sample, estimated as the mean of
log P_true(x) - log P_learned(x) over 100,000 held-out samples of the truth, both DAGs given the
same tables (``BayesianNetwork.from_statistics(alpha=1)``: counts + 1 on the states a column
shows); the last three columns
are fastdgm with a longer search (``restarts=200``).

A spec ``NAME:N:nopgmpy`` leaves pgmpy out (andes: pgmpy's search makes a few moves in five
minutes; fastdgm's makes about 500).

``pytest benchmarks/bench_bayesnet.py --benchmark-enable`` (pytest-benchmark entries, one round
of pgmpy: it takes tens of seconds), or ``python benchmarks/bench_bayesnet.py [networks...]``
for the README table. Skipped when pgmpy is absent.
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pytest

import fastdgm as fd

N_TEST = 100_000
RESTARTS = dict(restarts=200)     # the second fastdgm column


def _pgmpy():
    warnings.simplefilter("ignore", FutureWarning)
    try:
        import pandas
        from pgmpy.estimators import BIC, HillClimbSearch
        from pgmpy.utils import get_example_model
    except ImportError:
        return None
    return pandas, BIC, HillClimbSearch, get_example_model


def setup(name: str, n: int):
    """(truth, names, X, df, scorer) for ``n`` rows sampled from network ``name``."""
    pandas, BIC, _, get_example_model = _pgmpy()
    truth, names, _ = fd.BayesianNetwork.from_pgmpy(get_example_model(name))
    X = truth.sample(n, rng=0)
    df = pandas.DataFrame(X.astype(np.int64), columns=names).astype("category")
    return truth, names, X, df, BIC(df)


def pgmpy_search(df, names):
    """Parents (list of lists of column numbers) found by pgmpy's HillClimbSearch (BIC)."""
    HillClimbSearch = _pgmpy()[2]
    dag = HillClimbSearch(df).estimate(scoring_method="bic-d", show_progress=False)
    col = {v: j for j, v in enumerate(names)}
    parents = [[] for _ in names]
    for a, b in dag.edges():
        parents[col[b]].append(col[a])
    return [sorted(p) for p in parents]


def pgmpy_score(scorer, names, parents) -> float:
    from pgmpy.base import DAG

    g = DAG()
    g.add_nodes_from(names)
    g.add_edges_from((names[p], names[c]) for c, pa in enumerate(parents) for p in pa)
    return float(scorer.score(g))


def kl_to_truth(truth, X, parents, test) -> float:
    """Mean log P_true - log P_learned over held-out samples ``test`` of the truth."""
    stats = fd.BayesianNetwork.sufficient_statistics(X, truth.n_states, parents=parents)
    learned = fd.BayesianNetwork.from_statistics(stats, 1.0, parents=parents)
    return float(np.mean(truth.log_prob(test) - learned.log_prob(test)))


def compare(name: str, n: int, with_pgmpy: bool = True) -> dict:
    """One row of the README table (pgmpy's columns NaN without ``with_pgmpy``)."""
    truth, names, X, df, scorer = setup(name, n)
    with fd.threads(1):
        fd.BayesianNetwork.fit(X[:500], truth.n_states, rng=0)          # JIT outside the timing
        times = []
        for _ in range(3 if n * X.shape[1] <= 10**7 else 1):
            t = time.perf_counter()
            m = fd.BayesianNetwork.fit(X, truth.n_states, rng=0)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        mr = fd.BayesianNetwork.fit(X, truth.n_states, **RESTARTS, rng=0)
        t_r = time.perf_counter() - t
    t = time.perf_counter()
    pg_parents = pgmpy_search(df, names) if with_pgmpy else None
    t_pg = time.perf_counter() - t if with_pgmpy else float("nan")
    fd_parents = [sorted(p.tolist()) for p in m.parents]
    r_parents = [sorted(p.tolist()) for p in mr.parents]
    test = truth.sample(N_TEST, rng=1)
    row = dict(network=name, d=len(names), n=n, pgmpy_s=t_pg, fastdgm_s=float(np.median(times)),
               pgmpy_score=pgmpy_score(scorer, names, pg_parents) if with_pgmpy else float("nan"),
               fastdgm_score=pgmpy_score(scorer, names, fd_parents), fastdgm_own_score=m.score_,
               pgmpy_kl=kl_to_truth(truth, X, pg_parents, test) if with_pgmpy else float("nan"),
               fastdgm_kl=kl_to_truth(truth, X, fd_parents, test), restarts_s=t_r,
               restarts_score=pgmpy_score(scorer, names, r_parents),
               restarts_kl=kl_to_truth(truth, X, r_parents, test))
    row["speedup"] = row["pgmpy_s"] / row["fastdgm_s"]
    return row


@pytest.mark.parametrize("impl", ["fastdgm", "pgmpy"])
def test_structure_search_alarm(benchmark, full_size, impl):
    """Structure search (BIC) on alarm (37 nodes), n = 10,000 (1,000 under
    --benchmark-disable); fastdgm on one thread, its score checked against pgmpy's scorer."""
    if _pgmpy() is None:
        pytest.skip("pgmpy is not installed (optional benchmark baseline)")
    n = 10_000 if full_size else 1_000
    truth, names, X, df, scorer = setup("alarm", n)
    benchmark.group = "bn-structure-search-alarm"
    benchmark.extra_info.update(impl=impl, n=n, d=len(names), kernel="bn-structure-search")
    if impl == "fastdgm":
        with fd.threads(1):
            fd.BayesianNetwork.fit(X, truth.n_states, rng=0)
            m = benchmark.pedantic(lambda: fd.BayesianNetwork.fit(X, truth.n_states, rng=0), rounds=5, iterations=1)
        parents = [sorted(p.tolist()) for p in m.parents]
        np.testing.assert_allclose(pgmpy_score(scorer, names, parents), m.score_, rtol=1e-9)
        benchmark.extra_info["score"] = m.score_
    else:
        parents = benchmark.pedantic(lambda: pgmpy_search(df, names), rounds=1, iterations=1)
        benchmark.extra_info["score"] = pgmpy_score(scorer, names, parents)


def main(argv: list[str]) -> None:
    if _pgmpy() is None:
        raise SystemExit("pgmpy is not installed")
    nets = argv or ["alarm:1000", "alarm:10000", "hepar2:1000", "hepar2:10000", "win95pts:1000",
                    "win95pts:10000", "andes:10000:nopgmpy", "alarm:100000"]
    print("| network | d | n | pgmpy HC (s) | fastdgm fit (s) | speed-up | pgmpy BIC | fastdgm BIC "
          "| pgmpy KL | fastdgm KL | restarts=200 (s) | BIC | KL |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in nets:
        net, _, rest = name.partition(":")
        n, _, flag = rest.partition(":")
        r = compare(net, int(n) if n else 10_000, with_pgmpy=flag != "nopgmpy")
        cell = {k: (f"{v:{fmt}}" if v == v else "—") for k, v, fmt in
                (("pgmpy_s", r["pgmpy_s"], ".1f"), ("speedup", r["speedup"], ".0f"),
                 ("pgmpy_score", r["pgmpy_score"], ".1f"), ("pgmpy_kl", r["pgmpy_kl"], ".4f"))}
        print(f"| {r['network']} | {r['d']} | {r['n']} | {cell['pgmpy_s']} | {r['fastdgm_s']:.3f} | "
              f"{cell['speedup']}{'x' if r['speedup'] == r['speedup'] else ''} | {cell['pgmpy_score']} | {r['fastdgm_score']:.1f} | "
              f"{cell['pgmpy_kl']} | {r['fastdgm_kl']:.4f} | {r['restarts_s']:.2f} | "
              f"{r['restarts_score']:.1f} | {r['restarts_kl']:.4f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
