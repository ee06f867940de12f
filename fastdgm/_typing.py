"""Type aliases of the public API (numpy.typing): what the functions take and return."""
from __future__ import annotations

from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["ArrayLike", "DTypeLike", "NDArray", "Seed", "Size", "IntArray", "FloatArray", "PathLike"]

Seed = Union[None, int, np.random.SeedSequence, np.random.BitGenerator, np.random.Generator]
"""SPEC 7 ``rng`` argument."""

Size = Union[int, tuple[int, ...]]
"""numpy-style output size (None is typed separately where it changes the result)."""

IntArray = NDArray[np.integer[Any]]
"""Array of states or category indices (int64 or the smallest unsigned dtype holding C)."""

FloatArray = NDArray[np.float64]

PathLike = Union[str, "os.PathLike[str]"]

import os  # noqa: E402  (used in the string annotation above)
