"""Every case of :mod:`fastdgm.bench.cases` (the embedded set of ``fastdgm bench``) as
pytest-benchmark entries: fastdgm and its numpy baseline in one group per size, at the case's
full sizes (its quick sizes under ``--benchmark-disable``).

The cases are not written here: the parametrisation is derived from ``fastdgm.bench.cases.CASES``,
so ``fastdgm bench --source pytest`` and ``--source embedded`` time the same calls at the same sizes.
"""
from fastdgm.bench.cases import CASES
from fastdgm.bench.report import fmt_params
from conftest import full_run


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ != "test_case":
        return
    quick = not full_run(metafunc.config)
    points = [(c.kernel, p) for c in CASES.values() for p in c.points(quick)]
    metafunc.parametrize("kernel, params", points, ids=[f"{k}-{fmt_params(p).replace(' ', '-')}" for k, p in points])
    metafunc.parametrize("impl", ["fastdgm", "numpy"])


def test_case(measure, kernel, params, impl):
    """One size of one case: fastdgm or its numpy baseline."""
    timed = CASES[kernel].make(**params)
    measure(f"{kernel} {fmt_params(params)}", impl, timed.fns, kernel=kernel, items=timed.items,
            **{k: v for k, v in params.items() if k != "threads"}, nthreads=params["threads"])
