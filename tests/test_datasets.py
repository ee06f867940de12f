"""The embedded digits data set."""
import numpy as np

from fastdgm.datasets import load_digits


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.uint8
    assert y.shape == (1797,) and y.dtype == np.uint8
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # first image of scikit-learn's digits.csv.gz, a zero
    first = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0,
             0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0,
             0, 6, 13, 10, 0, 0, 0]
    np.testing.assert_array_equal(X[0], first)
    assert y[0] == 0
    last = [0, 0, 10, 14, 8, 1, 0, 0, 0, 2, 16, 14, 6, 1, 0, 0, 0, 0, 15, 15, 8, 15, 0, 0, 0, 0, 5, 16,
            16, 10, 0, 0, 0, 0, 12, 15, 15, 12, 0, 0, 0, 4, 16, 6, 4, 16, 6, 0, 0, 8, 16, 10, 8, 16, 8,
            0, 0, 1, 8, 12, 14, 12, 1, 0]                  # last row of digits.csv.gz, an 8
    np.testing.assert_array_equal(X[-1], last)
    assert y[-1] == 8
    assert int(X.sum(dtype=np.int64)) == 561718


def test_licence_file_ships():
    import os
    import fastdgm.datasets as ds
    text = open(os.path.join(ds._DATA_DIR, "LICENSE_digits.txt")).read()
    assert "Alpaydin" in text and "BSD" in text
    assert load_digits(return_labels=False).shape == (1797, 64)


def test_exported_lazily():
    import fastdgm as fd
    assert fd.load_digits is load_digits
