"""A bit-exact, sequential, pure-Python twin of the Ising checkerboard Gibbs kernel.

Driven by the same counter RNG (pure-Python references of fastdgm._rng and of the Gibbs site
uniforms, fastdgm._gibbs_rng), it must give
the same chains as ``fastdgm.gibbs`` bit for bit: Gibbs correctness rests on exact equality
with an obviously-correct sampler here, not on statistics alone.
"""
import math

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._gibbs_rng import site_bits_ref, site_uniform_ref
from fastdgm._rng import make_key, substream_ref


def checkerboard_sweep(chains, H, W, key):
    """The kernels' visiting order within one sweep: per chain, colour 0 then colour 1
    ((r + c) % 2), rows then columns. Yields (chain, chain key, r, c)."""
    for ch in range(chains):
        ck = substream_ref(int(key), ch)
        for col in (0, 1):
            for r in range(H):
                for c in range(W):
                    if (r + c) % 2 == col:
                        yield ch, ck, r, c


def ising_twin(x0, beta, key, n_sweeps):
    """Heat-bath sweeps of a periodic H x W Ising lattice (states 0/1, coupling beta * [x_i == x_j]).

    Sweep s visits colour 0 then colour 1 ((r + c) % 2); site i = r * W + c of chain ``ch``
    takes 0 when ``bits < min(ceil(P(0 | n1) * 2**32), 2**32 - 1)``, with ``bits = site_bits_ref(chain_key, s, i)``
    (32 bits) and n1 its neighbours in state 1.
    """
    chains, H, W = x0.shape
    d = H * W
    x = x0.copy().astype(np.int64)
    thresholds = [min(math.ceil(1.0 / (1.0 + math.exp(beta * (n1 - (4 - n1)))) * 2.0 ** 32), 2 ** 32 - 1)
                  for n1 in range(5)]
    out = []
    for s in range(n_sweeps):
        for ch, ck, r, c in checkerboard_sweep(chains, H, W, key):
            i = r * W + c
            n1 = (x[ch, (r - 1) % H, c] + x[ch, (r + 1) % H, c] + x[ch, r, (c - 1) % W]
                  + x[ch, r, (c + 1) % W])
            bits = site_bits_ref(ck, s, i)
            x[ch, r, c] = 0 if bits < thresholds[n1] else 1
        out.append(x.reshape(chains, d).copy())
    return np.stack(out)


@pytest.mark.parametrize("layout", [None, "sites"])
@pytest.mark.parametrize("H, W, beta, chains", [(4, 4, 0.44, 3), (6, 4, -0.8, 2), (4, 8, 1.3, 1), (6, 10, 0.6, 2)])
def test_ising_kernel_equals_sequential_twin(H, W, beta, chains, layout):
    """Even sides >= 4: the split-colour path (chain and site layouts), one stream."""
    model = fd.PairwiseMRF.grid((H, W), 2, beta, periodic=True)
    assert model.gibbs_plan.grid is not None          # the checkerboard kernel is the one tested
    x0 = np.random.default_rng(H * W).integers(0, 2, (chains, H * W)).astype(np.uint8)
    sweeps = 6
    for t in (1, 2):
        with fd.threads(t):
            res = fd.gibbs(model, chains, sweeps, init=x0, rng=11, _layout=layout)
        expected = ising_twin(x0.reshape(chains, H, W), beta, make_key(11), sweeps)
        np.testing.assert_array_equal(res.samples, expected)
        e = fd.PairwiseMRF.grid((H, W), 2, beta).energy(expected.reshape(-1, H * W)).reshape(sweeps, chains)
        np.testing.assert_allclose(res.energy, e, rtol=0, atol=1e-9)


def test_twin_detects_a_wrong_stream():
    """Negative control: the twin with the next counter disagrees with the kernel."""
    model = fd.PairwiseMRF.grid((4, 4), 2, 0.44)
    x0 = np.zeros((1, 16), np.uint8)
    res = fd.gibbs(model, 1, 3, init=x0, rng=5)
    wrong = ising_twin(x0.reshape(1, 4, 4), 0.44, make_key(6), 3)
    assert not np.array_equal(res.samples, wrong)


def potts_twin(x0, q, beta, key, n_sweeps):
    """Heat-bath sweeps of a periodic H x W Potts lattice without field, sequential Python.

    Site (r, c) of colour (r + c) % 2, neighbours in the order up, down, left, right: each
    distinct neighbour state weighs exp(beta * count - shift), every other state exp(-shift)
    (shift = max(0, 4 beta)); with ``u = site_uniform_ref(chain_key, s, i)`` the new state is
    the first, in the order (distinct neighbour states as met, then the absent states
    ascending), whose cumulative weight exceeds ``u * total``.
    """
    chains, H, W = x0.shape
    x = x0.copy().astype(np.int64)
    e = [math.exp(beta * n - max(0.0, 4.0 * beta)) for n in range(5)]
    out = []
    for s in range(n_sweeps):
        for ch, ck, r, c in checkerboard_sweep(chains, H, W, key):
            nb = [x[ch, (r - 1) % H, c], x[ch, (r + 1) % H, c], x[ch, r, (c - 1) % W],
                  x[ch, r, (c + 1) % W]]
            listed = list(dict.fromkeys(nb))
            weights = [e[nb.count(v)] for v in listed]
            cum, total = 0.0, 0.0
            for w in weights:
                total += w
            total = total + (q - len(listed)) * e[0]
            target = site_uniform_ref(ck, s, r * W + c) * total
            new = None
            for v, w in zip(listed, weights):
                cum += w
                if target < cum:
                    new = v
                    break
            if new is None:
                rr = min(max(int((target - cum) / e[0]), 0), q - len(listed) - 1)
                new = [v for v in range(q) if v not in listed][rr]
            x[ch, r, c] = new
        out.append(x.reshape(chains, H * W).copy())
    return np.stack(out)


@pytest.mark.parametrize("layout", [None, "sites"])
@pytest.mark.parametrize("H, W, q, beta, chains", [(4, 4, 3, 0.9, 2), (6, 4, 5, -0.6, 1), (4, 6, 10, 1.4, 2)])
def test_potts_torus_kernel_equals_sequential_twin(H, W, q, beta, chains, layout):
    """Even sides >= 4, q > 2: the split-colour Potts rows (both layouts, 1 and 2 threads)."""
    model = fd.PairwiseMRF.grid((H, W), q, beta, periodic=True)
    assert model.gibbs_plan.grid is not None
    x0 = np.random.default_rng(H * W + q).integers(0, q, (chains, H * W)).astype(np.uint8)
    sweeps = 5
    expected = potts_twin(x0.reshape(chains, H, W), q, beta, make_key(3), sweeps)
    for t in (1, 2):
        with fd.threads(t):
            res = fd.gibbs(model, chains, sweeps, init=x0, rng=3, _layout=layout)
        np.testing.assert_array_equal(res.samples, expected)
        e = model.energy(expected.reshape(-1, H * W)).reshape(sweeps, chains)
        np.testing.assert_allclose(res.energy, e, rtol=0, atol=1e-9)
