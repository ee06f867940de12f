"""Seeded outputs of the public API, computed the same way before and after a refactor.

``python tests/pinned_outputs.py`` records them: ``tests/data/pinned_outputs.json`` holds the
SHA-256 of every output's bytes (with shape and dtype) and the CPU class that computed them,
``tests/data/pinned_floats.npz`` the float outputs themselves. ``test_pinned_outputs.py``
recomputes and compares: every output bit for bit on a machine of the recording's CPU class;
on another class, integer outputs (samples, trees) bit for bit and float outputs to 1e-9
relative, because numpy's own log and exp round differently in their AVX-512 and AVX2 loops
(the last bits of ``np.log`` move, and the tables computed from them: seen on the fits'
log-tables; every sample stayed the same).
"""
import hashlib
import json
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PINNED_JSON = os.path.join(HERE, "data", "pinned_outputs.json")
PINNED_FLOATS = os.path.join(HERE, "data", "pinned_floats.npz")


def cpu_class() -> str:
    """The instruction set of numpy's SIMD loops on this machine (they decide the last bits)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:                                  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    machine = platform.machine().lower()
    for name in ("AVX512_SKX", "AVX512F", "AVX2", "ASIMD"):
        if features.get(name):
            return f"{machine}-{name.lower()}"
    return machine


def _digest(a) -> str:
    a = np.ascontiguousarray(np.asarray(a))
    return f"{a.dtype.str}{a.shape}:" + hashlib.sha256(a.tobytes()).hexdigest()[:24]


def outputs() -> dict:
    """Digest of every pinned output, by name."""
    return {k: _digest(v) for k, v in arrays().items()}


def arrays() -> dict:
    """Every pinned output as an array, by name."""
    import fastdgm as fd

    out = {}
    rs = np.random.default_rng(7)
    p = rs.random(37)
    P = rs.random((500, 9))
    for m in ("auto", "scan", "bisect", "guide", "alias"):
        out[f"categorical-{m}"] = fd.categorical(p, size=2000, rng=1, method=m)
    out["categorical-batched"] = fd.categorical(P, rng=2)
    out["categorical-logits"] = fd.categorical(logits=np.log(P), rng=3)
    out["cumulative_levels"] = fd.cumulative_levels(P)
    out["threshold"] = fd.threshold(rs.random(100), fd.cumulative_levels(p))
    grid = np.linspace(0, 1, 11)
    dens = rs.random(11) + 0.1
    out["sample_density"] = fd.sample_density(grid, dens, size=1000, rng=4)
    out["gaussian_transport"] = fd.gaussian_transport(rs.standard_normal(100), grid, dens)
    out["sample_joint"] = fd.sample_joint(rs.random((3, 4, 5)), size=500, rng=5)
    out["Categorical.sample"] = fd.Categorical(p).sample(1000, rng=6)

    X, _ = fd.load_digits()
    Xb = (X > 6).astype(np.uint8)
    f = fd.Factorized.fit(X, n_states=17, alpha=0.5)
    out["Factorized.log_probs"] = f.log_probs
    out["Factorized.log_prob"] = f.log_prob(X)
    out["Factorized.sample"] = f.sample(300, rng=8)
    mix = fd.Mixture.fit(Xb, n_components=4, rng=9, max_iter=15)
    out["Mixture.log_weights"] = mix.log_weights
    out["Mixture.log_components"] = mix.log_components
    out["Mixture.log_prob"] = mix.log_prob(Xb)
    out["Mixture.sample"] = mix.sample(300, rng=10)
    mix17 = fd.Mixture.fit(X, n_components=3, n_states=17, rng=11, max_iter=5)
    out["Mixture17.log_components"] = mix17.log_components
    tm = fd.TreeMixture.fit(Xb, n_components=3, rng=20, max_iter=8)     # the EM engine's models
    out["TreeMixture.log_cond"] = tm.log_cond
    out["TreeMixture.objective_history"] = np.asarray(tm.objective_history_)
    hc = fd.HiddenChowLiuTree.fit(Xb, n_hidden=3, rng=21, max_iter=6)
    out["HiddenChowLiuTree.emit_probs"] = hc.emit_probs
    out["HiddenChowLiuTree.objective_history"] = np.asarray(hc.objective_history_)
    mixc = fd.Mixture.fit(Xb[:400], n_components=2, rng=22)               # default stop rule
    out["Mixture.converged.n_iter"] = np.int64(mixc.n_iter_)
    out["Mixture.converged.log_components"] = mixc.log_components
    t = fd.ChowLiuTree.fit(X, n_states=17, alpha=0.3)
    out["ChowLiuTree.parent"] = t.parent
    out["ChowLiuTree.log_cond"] = t.log_cond
    out["ChowLiuTree.log_prob"] = t.log_prob(X)
    out["ChowLiuTree.sample"] = t.sample(300, rng=12)
    tw = fd.ChowLiuTree.fit(Xb, sample_weight=rs.random(len(Xb)))
    out["ChowLiuTree.weighted.log_cond"] = tw.log_cond

    ising = fd.PairwiseMRF.grid((8, 8), 2, 0.4, periodic=True)
    r = fd.gibbs(ising, 4, 20, rng=13)
    out["gibbs.ising.samples"] = r.samples
    out["gibbs.ising.energy"] = r.energy
    potts = fd.PairwiseMRF.grid((6, 7), 4, 0.7, periodic=False)
    r = fd.gibbs(potts, 3, 10, rng=14, thin=2, burn_in=2)
    out["gibbs.potts.samples"] = r.samples
    r = fd.gibbs(potts, 2, 5, rng=15, schedule="random")
    out["gibbs.potts.random"] = r.samples
    r = fd.gibbs(potts, 2, 5, rng=16, schedule="sequential")
    out["gibbs.potts.sequential"] = r.samples
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [4, 1]])
    g = fd.PairwiseMRF(rs.standard_normal((5, 3)), edges, rs.standard_normal((6, 3, 3)))
    r = fd.gibbs(g, 5, 8, rng=17)
    out["gibbs.graph.samples"] = r.samples
    out["mrf.log_partition"] = np.float64(g.log_partition())
    out["mrf.log_prob"] = g.log_prob(r.samples[-1])
    data = fd.gibbs(ising, 50, 30, rng=18).samples.reshape(-1, 64)[:1000]
    fitted = fd.PairwiseMRF.fit(data, edges=ising.edges, n_states=2)
    out["mrf.fit.unary"] = np.round(fitted.unary, 6)
    out["mrf.fit.pairwise"] = np.round(fitted.pairwise, 6)

    tr = np.random.default_rng(19).standard_normal((4, 200))
    out["rhat"] = np.float64(fd.rhat(tr))
    out["ess"] = np.float64(fd.ess(tr))
    out["kl_divergence"] = np.float64(fd.kl_divergence(f, fd.Factorized.fit(X[:500], n_states=17)))
    out["empirical_entropy"] = np.float64(fd.empirical_entropy(Xb[:, :4]))
    return {k: np.asarray(v) for k, v in out.items()}


def record() -> None:
    """Write the digests, the CPU class and the float outputs of this machine."""
    out = arrays()
    with open(PINNED_JSON, "w") as f:
        json.dump({"cpu": cpu_class(), "digests": {k: _digest(v) for k, v in out.items()}}, f, indent=1,
                  sort_keys=True)
        f.write("\n")
    np.savez_compressed(PINNED_FLOATS, **{k: v for k, v in out.items() if v.dtype.kind in "fc"})


if __name__ == "__main__":
    record()
    print(f"recorded {PINNED_JSON} and {PINNED_FLOATS}", file=sys.stderr)
    print()
