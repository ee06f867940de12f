"""Seeded public results are pinned: a refactor or a new fast path must not change them.

On a machine of the CPU class that recorded them every output must be the same bit for bit; on
another class integer outputs must still be, and float outputs agree to 1e-9 relative (numpy's
log/exp loops round differently per instruction set: see ``tests/pinned_outputs.py``)."""
import json

import numpy as np
import pytest

from pinned_outputs import PINNED_FLOATS, PINNED_JSON, _digest, arrays, cpu_class


def test_seeded_outputs_unchanged():
    pytest.importorskip("scipy")        # PairwiseMRF.fit is pinned with scipy's L-BFGS-B
    with open(PINNED_JSON) as f:
        pinned = json.load(f)
    digests = pinned["digests"]
    now = arrays()
    assert set(now) == set(digests), sorted(set(now) ^ set(digests))
    same_cpu = pinned["cpu"] == cpu_class()
    floats = np.load(PINNED_FLOATS)
    changed = {}
    for k, v in now.items():
        if _digest(v) == digests[k]:
            continue
        if same_cpu or v.dtype.kind not in "fc":
            changed[k] = (digests[k], _digest(v))
            continue
        ref = floats[k]
        if ref.shape != v.shape or ref.dtype != v.dtype or not np.array_equal(np.isfinite(ref), np.isfinite(v)) \
                or not np.array_equal(ref[~np.isfinite(ref)], v[~np.isfinite(v)]) \
                or not np.allclose(v[np.isfinite(v)], ref[np.isfinite(ref)], rtol=1e-9, atol=1e-12):
            changed[k] = (digests[k], _digest(v), "beyond 1e-9 relative")
    assert not changed, changed
