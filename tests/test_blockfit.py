"""Out-of-core fits from a memory-mapped .npy, block by block, against the in-memory fits."""
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from isolated import isolated_env

import fastdgm as fd
from fastdgm.blockfit import fit_in_blocks
from fastdgm.models import em


@pytest.fixture(scope="module")
def memmap_data(tmp_path_factory):
    true = fd.Mixture(np.ones(3), np.random.default_rng(1).dirichlet(np.ones(4), size=(3, 9)))
    X = true.sample(5000, rng=2)
    path = tmp_path_factory.mktemp("blocks") / "big.npy"
    np.save(path, X)
    return X, np.load(path, mmap_mode="r"), path


@pytest.mark.parametrize("cls", [fd.Factorized, fd.ChowLiuTree])
@pytest.mark.parametrize("block_rows", [1, 999, 4096, 10**6])
def test_one_pass_fits_equal_in_memory_bit_for_bit(memmap_data, cls, block_rows):
    X, M, _ = memmap_data
    if block_rows == 1:
        M, X = M[:300], X[:300]
    one = cls.fit(X, alpha=0.7)
    blocks = fit_in_blocks(cls, M, block_rows=block_rows, alpha=0.7)
    for k, v in one.get_params().items():
        np.testing.assert_array_equal(blocks.get_params()[k], v)


EM_FITS = [(fd.Mixture, {"n_components": 3, "rng": 7, "max_iter": 30, "alpha": 0.5}),
           (fd.TreeMixture, {"n_components": 3, "rng": 7, "max_iter": 8, "alpha": 0.5}),
           (fd.HiddenChowLiuTree, {"n_hidden": 3, "rng": 7, "max_iter": 8, "alpha": 0.5}),
           (fd.HiddenChowLiuTree, {"n_hidden": 2, "rng": 3, "max_iter": 5, "alpha": 0.0, "init": "random"}),
           (fd.TreeMixture, {"n_components": 2, "rng": 5, "max_iter": 6, "alpha": 0.1, "shrink": 20.0}),
           (fd.TreeMixture, {"n_components": 2, "rng": 5, "max_iter": 4, "alpha": 0.1, "shrink": 5.0, "prune": 0.5,
                             "init": "mixture"}),
           (fd.HiddenChowLiuTree, {"n_hidden": 2, "rng": 3, "max_iter": 5, "alpha": 0.1, "soften": 0.01}),
           (fd.HCLTMixture, {"n_trees": 3, "n_hidden": 2, "rng": 7, "max_iter": 6, "alpha": 0.5}),
           (fd.HCLTMixture, {"n_trees": 2, "n_hidden": 2, "rng": 3, "max_iter": 5, "alpha": 0.1, "soften": 0.01,
                             "init": "random"})]


def one_machine(cls, X, **kw):
    """The in-memory fit a block fit equals (the HCLT without dedupe: blocks are not deduped)."""
    extra = {"dedupe": False} if "dedupe" in em.fit_keywords(cls) else {}
    return cls.fit(X, **kw, **extra)


def max_rel(a, b) -> float:
    """Largest relative difference of two parameter arrays (infinities must coincide)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    np.testing.assert_array_equal(a[~np.isfinite(a)], b[~np.isfinite(b)])
    f = np.isfinite(a)
    return float(np.max(np.abs(a[f] - b[f]) / np.maximum(np.abs(a[f]), 1e-300), initial=0.0))


def test_block_fittable_is_derived_from_the_registry():
    from fastdgm.blockfit import BLOCK_FITTABLE

    assert set(BLOCK_FITTABLE) == {"Factorized", "ChowLiuTree", "Mixture", "TreeMixture", "HiddenChowLiuTree",
                                   "BayesianNetwork", "HCLTMixture"}
    assert set(BLOCK_FITTABLE) == set(fd.models.base.registered_models("statistics"))


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("cls,kw", EM_FITS)
def test_em_in_blocks_matches_in_memory(memmap_data, cls, kw, binary):
    """One block: the in-memory fit bit for bit (same sums in the same order); 1234-row blocks
    of a memory-mapped file: the same iterations, parameters to 1e-12 relative."""
    X, M, path = memmap_data
    if binary:
        X = (X > 1).astype(np.uint8)
        np.save(path.with_name("binary.npy"), X)
        M = np.load(path.with_name("binary.npy"), mmap_mode="r")
    one = one_machine(cls, X, **kw)
    whole = fit_in_blocks(cls, M, block_rows=10**6, **kw)
    for k, v in one.get_params().items():
        np.testing.assert_array_equal(whole.get_params()[k], v)
    assert whole.objective_history_ == one.objective_history_
    assert whole.log_likelihood_history_ == one.log_likelihood_history_
    blocks = fit_in_blocks(cls, M, block_rows=1234, **kw)
    assert blocks.n_iter_ == one.n_iter_ and blocks.converged_ == one.converged_
    assert max_rel(blocks.objective_history_, one.objective_history_) < 1e-12
    assert max_rel(blocks.log_likelihood_history_, one.log_likelihood_history_) < 1e-12
    for k, v in one.get_params().items():
        assert max_rel(blocks.get_params()[k], v) < 1e-12, k
    obj = np.asarray(blocks.objective_history_)
    assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1]))


def test_block_fit_with_sample_weight_and_restarts(memmap_data):
    X, M, _ = memmap_data
    w = np.random.default_rng(3).random(len(X))
    one = fd.TreeMixture.fit(X, n_components=2, rng=1, max_iter=4, n_init=2, sample_weight=w)
    whole = fit_in_blocks(fd.TreeMixture, M, block_rows=10**6, n_components=2, rng=1, max_iter=4, n_init=2,
                          sample_weight=w)
    np.testing.assert_array_equal(whole.log_cond, one.log_cond)
    blocks = fit_in_blocks(fd.TreeMixture, M, block_rows=999, n_components=2, rng=1, max_iter=4, n_init=2,
                           sample_weight=w)
    assert max_rel(blocks.log_cond, one.log_cond) < 1e-12


def test_em_block_fits_hold_one_block_in_memory(tmp_path):
    """A memory-mapped file over three times the traced peak: the EM block fits read it block
    by block (the peak is one block's work, whatever the file's size, and ChowLiuTree's
    table of n log n for the HCLT structure)."""
    rng = np.random.default_rng(8)
    X = (rng.random((200_000, 48)) < 0.3).astype(np.uint8)
    X[:, 1] ^= X[:, 0]
    np.save(tmp_path / "big.npy", X)
    M = np.load(tmp_path / "big.npy", mmap_mode="r")
    fits = [(fd.Mixture, {"n_components": 3}), (fd.TreeMixture, {"n_components": 2}),
            (fd.HiddenChowLiuTree, {"n_hidden": 2})]
    # JIT compiles outside the trace: on read-only memory-mapped blocks (numba types them apart
    # from writable arrays) and at a fixed thread count (the adaptive default may pick another
    # kernel variant from one call to the next on a busy machine)
    with fd.threads(2):
        for cls, kw in fits:
            fit_in_blocks(cls, M[:5_000], block_rows=2_500, rng=0, max_iter=2, tol=0, **kw)
        for cls, kw in fits:
            tracemalloc.start()
            try:
                m = fit_in_blocks(cls, M, block_rows=2_500, rng=0, max_iter=3, tol=0, **kw)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert m.n_iter_ == 3
            assert peak < X.nbytes / 3, (cls.__name__, peak, X.nbytes)


def test_block_fit_errors(memmap_data):
    _, M, _ = memmap_data
    with pytest.raises(TypeError, match="block by block"):
        fit_in_blocks(fd.PairwiseMRF, M)
    with pytest.raises(TypeError, match="dedupe"):
        fit_in_blocks(fd.HiddenChowLiuTree, M, dedupe=True)
    with pytest.raises(TypeError, match="n_hidden"):
        fit_in_blocks(fd.Factorized, M, n_hidden=3)
    with pytest.raises(ValueError, match="sample_weight"):
        fit_in_blocks(fd.Factorized, M, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="n_states"):
        fit_in_blocks(fd.Factorized, M, n_states=2)          # states up to 3 in the data
    with pytest.raises(ValueError, match="n_components"):
        fit_in_blocks(fd.Mixture, M, n_components=0)


def test_cli_fit_reads_a_memmap_block_by_block(tmp_path):
    """``fastdgm fit --data big.npy --block-rows N`` fits without loading the file whole."""
    X = np.random.default_rng(5).integers(0, 2, (1_000_000, 24), dtype=np.uint8)
    X[:, 1] ^= X[:, 0]
    path, small, out = tmp_path / "big.npy", tmp_path / "small.npy", tmp_path / "m.npz"
    np.save(path, X)
    np.save(small, X[:1000])
    code = ("import sys, tracemalloc; from fastdgm.cli import main; "
            "args = lambda d: ['fit', 'chowliu', '--data', d, '--out', sys.argv[3], '--block-rows', '50000', '-q']; "
            "main(args(sys.argv[2])); main(args(sys.argv[1])); "   # JIT compiles outside the trace
            "tracemalloc.start(); rc = main(args(sys.argv[1])); "
            "print(tracemalloc.get_traced_memory()[1]); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(path), str(small), str(out)], capture_output=True,
                       env=isolated_env(), cwd=tmp_path,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    peak = int(r.stdout.strip().splitlines()[-1])
    assert peak < X.nbytes / 2, (peak, X.nbytes)            # never the whole array in memory
    np.testing.assert_array_equal(fd.load(out).log_cond, fd.ChowLiuTree.fit(X).log_cond)


@pytest.mark.parametrize("kind, cls, options, hyper", [
    ("treemix", fd.TreeMixture, ["--components", "2"], {"n_components": 2}),
    ("hclt", fd.HiddenChowLiuTree, ["--hidden", "2"], {"n_hidden": 2}),
    ("hcltmix", fd.HCLTMixture, ["--hidden", "2"], {"n_hidden": 2}),
    ("mixture", fd.Mixture, ["--components", "2"], {"n_components": 2})])
def test_cli_block_fit_of_em_models(tmp_path, kind, cls, options, hyper):
    """``fastdgm fit KIND --block-rows N`` for every EM kind: the block fit with the CLI's
    options (its --alpha, --seed), equal to the one-machine fit to 1e-12."""
    from fastdgm._fit import block_kinds
    from fastdgm.cli import main

    assert set(block_kinds()) == {"factorized", "chowliu", "mixture", "treemix", "hclt", "bn", "hcltmix"}
    X = fd.Mixture(np.ones(2), np.random.default_rng(1).dirichlet(np.ones(3), size=(2, 6))).sample(900, rng=3)
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "m.npz"
    assert main(["fit", kind, "--data", str(tmp_path / "x.npy"), "--out", str(out), "--block-rows", "250",
                 "--seed", "5", "--alpha", "0.5", "-q", *options]) == 0
    got = fd.load(out)
    ref = one_machine(cls, X, alpha=0.5, rng=5, **hyper)
    for k, v in ref.get_params().items():
        assert max_rel(got.get_params()[k], v) < 1e-12, k


@pytest.mark.parametrize("C", [2, 3])
def test_tree_mixture_blocks_with_constant_columns(C):
    """Constant columns have zero mutual information with everything, which weighted counts
    give only up to rounding that depends on the summation order: without snapping such
    values to 0 the block fit attached them elsewhere than the one-pass fit and EM diverged
    (digits // 6: 79 of 192 parents differed after 10 iterations). Same trees, same EM path."""
    from fastdgm.blockfit import fit_in_blocks

    X = np.asarray(fd.load_digits()[0])[:900]
    X = (X >= 8).astype(np.uint8) if C == 2 else (X // 6).astype(np.uint8)
    assert (X.min(axis=0) == X.max(axis=0)).sum() >= 3
    kw = {"n_components": 3, "rng": 1, "max_iter": 8, "tol": 0.0}
    one = fd.TreeMixture.fit(X, n_states=C, **kw)
    blk = fit_in_blocks(fd.TreeMixture, X, block_rows=301, n_states=C, **kw)
    np.testing.assert_array_equal(blk.parents, one.parents)
    assert max_rel(blk.objective_history_, one.objective_history_) < 1e-12
    assert max_rel(blk.log_weights, one.log_weights) < 1e-12
    assert np.abs(blk.log_cond - one.log_cond).max() < 1e-11
