"""Out-of-core fits from a memory-mapped .npy, block by block, against the in-memory fits."""
import subprocess
import sys

import numpy as np
import pytest
from isolated import isolated_env

import fastdgm as fd
from fastdgm.blockfit import fit_in_blocks


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


def test_mixture_em_in_blocks_matches_in_memory(memmap_data):
    X, M, _ = memmap_data
    one = fd.Mixture.fit(X, n_components=3, rng=7, max_iter=40, alpha=0.5)
    blocks = fit_in_blocks(fd.Mixture, M, block_rows=1234, n_components=3, rng=7, max_iter=40, alpha=0.5)
    assert blocks.n_iter_ == one.n_iter_
    np.testing.assert_allclose(blocks.objective_history_, one.objective_history_, rtol=1e-12)
    np.testing.assert_allclose(blocks.log_components, one.log_components, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(blocks.objective_history_) >= -1e-12)


def test_block_fit_errors(memmap_data):
    _, M, _ = memmap_data
    with pytest.raises(TypeError, match="block by block"):
        fit_in_blocks(fd.PairwiseMRF, M)
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
