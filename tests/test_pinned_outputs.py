"""Seeded public results are pinned: a refactor or a new fast path must not change them."""
import json
import os

import pytest

from pinned_outputs import outputs

_PINNED = os.path.join(os.path.dirname(__file__), "data", "pinned_outputs.json")


def test_seeded_outputs_unchanged():
    pytest.importorskip("scipy")        # PairwiseMRF.fit is pinned with scipy's L-BFGS-B
    with open(_PINNED) as f:
        pinned = json.load(f)
    now = outputs()
    changed = {k: (pinned[k], now.get(k)) for k in pinned if now.get(k) != pinned[k]}
    assert not changed, changed
