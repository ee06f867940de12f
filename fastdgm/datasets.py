"""Small real data sets shipped with the package.

:func:`load_digits` returns the UCI optical-digits images (Alpaydin & Kaynak 1998) exactly
as distributed inside scikit-learn: 1,797 images of 8x8 pixels with 17 grey levels, i.e. a
discrete data set with d = 64 components of C = 17 states. Attribution and licences are in
``fastdgm/data/LICENSE_digits.txt``.
"""
from __future__ import annotations

import os
from typing import Literal, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["load_digits", "DIGITS_SHAPE", "DIGITS_STATES"]

DIGITS_SHAPE = (8, 8)
DIGITS_STATES = 17

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@overload
def load_digits(return_labels: Literal[True] = True) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]: ...
@overload
def load_digits(return_labels: Literal[False]) -> NDArray[np.uint8]: ...


def load_digits(return_labels: bool = True
                ) -> tuple[NDArray[np.uint8], NDArray[np.uint8]] | NDArray[np.uint8]:
    """The UCI optical-recognition-of-handwritten-digits images (scikit-learn's copy).

    Parameters
    ----------
    return_labels : bool, default True
        Also return the digit labels.

    Returns
    -------
    X : ndarray, uint8, shape (1797, 64)
        Pixel values in [0, 16] of 8x8 images, row-major (``X[i].reshape(8, 8)``).
    y : ndarray, uint8, shape (1797,)
        The digit 0..9 of each image (only if ``return_labels``).

    Notes
    -----
    Alpaydin, E. and Kaynak, C. (1998), Optical Recognition of Handwritten Digits, UCI
    Machine Learning Repository. See ``fastdgm/data/LICENSE_digits.txt``.

    Examples
    --------
    >>> from fastdgm.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, int(X.max())
    ((1797, 64), dtype('uint8'), 16)
    """
    path = os.path.join(_DATA_DIR, "digits.npz")
    with np.load(path, allow_pickle=False) as f:
        X = np.ascontiguousarray(f["images"], dtype=np.uint8)
        y = np.ascontiguousarray(f["labels"], dtype=np.uint8)
    return (X, y) if return_labels else X

# The twenty binary density-estimation benchmarks (read from disk or downloaded): see density_data.
from .density_data import (  # noqa: E402
    load_density_benchmark, list_density_benchmarks, density_benchmark_info,
)

__all__ += ["load_density_benchmark", "list_density_benchmarks", "density_benchmark_info"]
