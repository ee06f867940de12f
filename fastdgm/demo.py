"""``fastdgm demo``: learn the UCI digits with every explicit model, score them, sample them.

The job of the seed in one minute: split the data (fixed seed), fit each model P_w by
maximum likelihood (the pseudo-likelihood for the Markov random field), report the mean
log-likelihood of the training and the held-out data, and draw new digits — by
thresholding (Factorized), ancestral sampling (Mixture, ChowLiuTree, TreeMixture,
HiddenChowLiuTree) and Gibbs sweeps (PairwiseMRF) — written as one PNG grid below real digits;
then remove the bottom half of held-out digits and fill it with each exact model by exact
conditional sampling (``model.fill``), shown in the same PNG.

The held-out cross-entropy -E_test[log P_w(x)] estimates KL(P_data || P_w) + H(P_data): the
data entropy H is unknown but is the same for every model, so the differences between rows
are differences of KL, and the lowest row is the model closest to the data.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["run_demo", "DemoRow", "DemoResult", "mrf_edges"]

_LN2 = math.log(2.0)


@dataclass
class DemoRow:
    """One line of the demo table (log-likelihoods in nats per sample)."""

    model: str
    train: float
    test: float
    test_stderr: float
    fit_seconds: float
    sampler: str
    n_params: int
    pseudo: bool = False          # log-likelihoods are pseudo-log-likelihoods
    note: str = ""

    def bits_per_dim(self, d: int) -> float:
        return -self.test / (d * _LN2)


@dataclass
class DemoResult:
    """What :func:`run_demo` computed: the table rows, the image path, the data shapes."""

    rows: list = field(default_factory=list)
    png: str | None = None
    n_train: int = 0
    n_test: int = 0
    n_dims: int = 0
    n_states: int = 0
    seconds: float = 0.0
    observed_half: dict = field(default_factory=dict)   # model -> mean log P(top half of a test image)


class _Steps:
    """A progress bar over the demo's steps on stderr, each finished step as a line above it."""

    def __init__(self, show: bool, total: int = 8):
        from ._progress import Progress

        self.bar = Progress(total, unit="steps", enabled=show, desc="demo")
        self.show = show

    def close(self, finished: bool = True) -> None:
        """End the bar.

        Parameters
        ----------
        finished : bool
            The demo ran to its end (the bar ends full).
        """
        self.bar.close(finished=finished)

    def __call__(self, name: str):
        steps = self

        class _Step:
            def __enter__(self):
                self.t0 = time.perf_counter()
                steps.bar.desc = f"demo: {name}"
                steps.bar.update(0)
                return self

            def __exit__(self, et, ev, tb):
                self.seconds = time.perf_counter() - self.t0
                steps.bar.write(f"  {name} ... {'failed' if et else f'{self.seconds:.2f} s'}")
                steps.bar.update(1)
                return False

        return _Step()


def mrf_edges(image_shape, tree_edges=None) -> np.ndarray:
    """Edges of the demo's Markov random field: the open 4-neighbour lattice plus tree edges.

    Parameters
    ----------
    image_shape : tuple (H, W)
        Sites are pixels in row-major order (d = H*W).
    tree_edges : array_like of int, shape (m, 2), optional
        Extra edges (the Chow-Liu tree), added when not already lattice edges.

    Returns
    -------
    ndarray, int64, shape (m', 2), each row (i, j) with i < j, sorted, no duplicates.
    """
    H, W = image_shape
    idx = np.arange(H * W).reshape(H, W)
    pairs = [np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
             np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)]
    if tree_edges is not None and len(tree_edges):
        pairs.append(np.asarray(tree_edges, dtype=np.int64).reshape(-1, 2))
    e = np.concatenate(pairs).astype(np.int64)
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0)


def _n_params(model) -> int:
    try:
        params = model.get_params()
    except Exception:
        return 0
    return int(sum(np.size(v) for v in params.values() if np.asarray(v).dtype.kind == "f"))


def _mean_se(v: np.ndarray):
    v = np.asarray(v, dtype=np.float64)
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(v.mean()), se


def _to_pixels(X: np.ndarray, n_states: int, image_shape, scale: int) -> np.ndarray:
    """States -> dark-on-white uint8 images (n, H*scale, W*scale)."""
    X = np.asarray(X, dtype=np.float64)
    ink = X / max(n_states - 1, 1)
    img = np.round(255.0 * (1.0 - ink)).astype(np.uint8).reshape((-1,) + tuple(image_shape))
    return img.repeat(scale, axis=1).repeat(scale, axis=2)


def _image_shape(d: int):
    s = math.isqrt(d)
    return (s, s) if s * s == d else (1, d)


def run_demo(out="fastdgm_demo.png", data=None, *, quick: bool = False, seed: int = 0,
             progress: bool = False, quiet: bool = False, n_train: int | None = None,
             n_show: int = 16, file=None) -> DemoResult:
    """Fit every explicit model on the digits (or ``data``), print the table, write the PNG.

    Parameters
    ----------
    out : str or os.PathLike or None
        PNG file for the grid of real and sampled digits (None: no image).
    data : str, os.PathLike or array_like of int, shape (n, d), optional
        Data to use instead of the embedded UCI digits: a ``.npy``/``.npz``/``.csv`` file or
        an array. Images are drawn as sqrt(d) x sqrt(d) squares when d is a square number.
    quick : bool
        Fewer mixture components and Gibbs sweeps (for tests and slow machines).
    seed : int
        Seed of the train/test split, of EM and of every sampler.
    progress : bool
        Print each step and its duration on stderr.
    quiet : bool
        Print nothing but the table.
    n_train : int, optional
        Use at most this many training samples.
    n_show : int
        Samples drawn per model for the image.
    file : file-like, optional
        Where the table goes (standard output by default).

    Returns
    -------
    DemoResult
    """
    from ._io import load_data
    from ._validation import check_states

    file = sys.stdout if file is None else file
    t_start = time.perf_counter()
    steps = _Steps(progress and not quiet)

    if data is None:
        from .datasets import DIGITS_STATES, load_digits

        X, _ = load_digits()
        C, name = DIGITS_STATES, "UCI optical digits (1797 images, 8x8, 17 grey levels)"
    else:
        X = load_data(data) if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__") \
            else np.asarray(data)
        X, C = check_states(X, "data")
        name = f"{data if isinstance(data, str) else 'data'} ({X.shape[0]} samples, d = {X.shape[1]})"
    n, d = X.shape
    if n < 10:
        raise ValueError(f"data needs at least 10 samples for a train/test split, got {n}")
    image_shape = (8, 8) if data is None else _image_shape(d)

    split = np.random.default_rng(seed).permutation(n)
    n_test = max(n // 5, 1)
    X_test, X_train = X[split[:n_test]], X[split[n_test:]]
    if n_train is not None:
        X_train = X_train[:n_train]
    n_components = 5 if quick else 12
    n_sweeps = 100 if quick else 500

    result = DemoResult(n_train=X_train.shape[0], n_test=n_test, n_dims=d, n_states=C)
    if not quiet:
        print(f"fastdgm demo: {name}; train {X_train.shape[0]}, test {n_test} (split seed {seed})",
              file=sys.stderr)

    samples: dict[str, np.ndarray] = {}
    rows = result.rows
    uniform = -d * math.log(C)
    rows.append(DemoRow("Uniform (reference)", uniform, uniform, 0.0, 0.0, "-", 0))

    from .models import ChowLiuTree, Factorized, HiddenChowLiuTree, Mixture, TreeMixture

    fitted = {}

    def fit_and_score(label, fit, sampler, draw):
        with steps(f"fitting {label}") as st:
            model = fit()
        lp_train, _ = _mean_se(model.log_prob(X_train))
        lp_test, se = _mean_se(model.log_prob(X_test))
        with steps(f"sampling {label} ({sampler})"):
            samples[label] = np.asarray(draw(model))
        rows.append(DemoRow(label, lp_train, lp_test, se, st.seconds, sampler, _n_params(model)))
        fitted[label] = model
        return model

    fit_and_score("Factorized", lambda: Factorized.fit(X_train, n_states=C, alpha=1.0),
                  "thresholding", lambda m: m.sample(n_show, rng=seed))
    fit_and_score(f"Mixture (K={n_components})",
                  lambda: Mixture.fit(X_train, n_components=n_components, n_states=C, rng=seed),
                  "ancestral", lambda m: m.sample(n_show, rng=seed))
    tree = fit_and_score("ChowLiuTree", lambda: ChowLiuTree.fit(X_train, n_states=C, alpha=1.0),
                         "ancestral", lambda m: m.sample(n_show, rng=seed))
    k_trees = 2 if quick else 4
    fit_and_score(f"TreeMixture (K={k_trees})",
                  lambda: TreeMixture.fit(X_train, n_components=k_trees, n_states=C, alpha=1.0, rng=seed,
                                          max_iter=10 if quick else 30),
                  "ancestral", lambda m: m.sample(n_show, rng=seed))
    k_hidden = 8 if quick else 16
    fit_and_score(f"HiddenChowLiuTree (K={k_hidden})",
                  lambda: HiddenChowLiuTree.fit(X_train, n_hidden=k_hidden, n_states=C, alpha=0.1, rng=seed,
                                                max_iter=20 if quick else 50),
                  "ancestral", lambda m: m.sample(n_show, rng=seed))

    # missing values: the bottom half of held-out images removed, filled from the exact conditional
    real = X_test[:n_show]
    missing = np.zeros(real.shape, dtype=bool)
    missing[:, d // 2:] = True
    with steps("filling the missing bottom halves (exact conditionals)"):
        fills = {f"fill {label.split(' ')[0]}": model.fill(real, missing=missing, rng=seed)
                 for label, model in fitted.items()}
        masked = np.where(missing, 0, real)
        observed = {label: _mean_se(model.log_prob(X_test, missing=np.broadcast_to(missing[:1], X_test.shape)))[0]
                    for label, model in fitted.items()}
    result.observed_half = observed

    # Markov random field on the lattice + the Chow-Liu tree edges, by pseudo-likelihood
    from .mcmc import gibbs
    from .models.mrf import PairwiseMRF

    edges = mrf_edges(image_shape, tree.edges) if image_shape[0] > 1 else tree.edges
    with steps(f"fitting PairwiseMRF ({len(edges)} edges, pseudo-likelihood)") as st:
        mrf = PairwiseMRF.fit(X_train, edges=edges, n_states=C, method="pll")
    try:                       # exact when C^d is small enough to enumerate
        pl_train, _ = _mean_se(mrf.log_prob(X_train))
        pl_test, se = _mean_se(mrf.log_prob(X_test))
        pseudo = False
    except ValueError:
        pl_train, _ = _mean_se(mrf.pseudo_log_likelihood(X_train))
        pl_test, se = _mean_se(mrf.pseudo_log_likelihood(X_test))
        pseudo = True
    with steps(f"sampling PairwiseMRF (Gibbs, {n_show} chains x {n_sweeps} sweeps)"):
        res = gibbs(mrf, n_show, 1, burn_in=n_sweeps - 1, rng=seed, progress=False)
        samples["PairwiseMRF"] = np.asarray(res.samples[-1])
    rows.append(DemoRow("PairwiseMRF", pl_train, pl_test, se, st.seconds, f"Gibbs x{n_sweeps}",
                        _n_params(mrf), pseudo=pseudo))

    steps.close()
    _print_table(result, file)
    print("\nlog-likelihood of the top halves alone (bottom halves summed out exactly), nats per test image: "
          + ", ".join(f"{k.split(' ')[0]} {v:.2f}" for k, v in observed.items()), file=file)
    if out is not None:
        result.png = _write_grid(out, X_test[:n_show], {**samples, "top halves": masked, **fills}, C, image_shape,
                                 n_show)
    result.seconds = time.perf_counter() - t_start
    if not quiet:
        order = ", ".join(["real (test set)"] + list(samples) + ["top halves"] + [f"fill {k}" for k in fitted])
        where = f"wrote {result.png} (rows: {order}); " if result.png else ""
        print(f"{where}done in {result.seconds:.1f} s", file=sys.stderr)
    return result


def _print_table(result: DemoResult, file) -> None:
    d = result.n_dims
    best = min((-r.test for r in result.rows if not r.pseudo), default=float("nan"))
    w = max(len(r.model) + 1 for r in result.rows)
    head = (f"{'model':{w}s} {'params':>7s} {'train':>9s} {'test':>9s} {'± se':>6s} {'bits/dim':>8s} "
            f"{'KL+H':>8s} {'KL-KLbest':>9s} {'fit s':>6s}  sampler")
    print(head, file=file)
    print("-" * len(head), file=file)
    for r in result.rows:
        ce = -r.test
        mark = "†" if r.pseudo else " "
        dkl = "" if r.pseudo else f"{ce - best:9.1f}"
        print(f"{r.model + mark:{w}s} {r.n_params:7d} {r.train:9.2f} {r.test:9.2f} {r.test_stderr:6.2f} "
              f"{r.bits_per_dim(d):8.3f} {'' if r.pseudo else f'{ce:8.2f}':>8s} {dkl:>9s} "
              f"{r.fit_seconds:6.2f}  {r.sampler}", file=file)
    uniform_bits = math.log2(result.n_states)
    print(f"""
train/test: mean log-likelihood in nats per sample (± standard error on the test set);
bits/dim = -test / (d ln 2) with d = {d} (uniform over {result.n_states} states: {uniform_bits:.3f}).
KL+H = test cross-entropy -E[log P_w(x)] = KL(P_data || P_w) + H(P_data), in nats: H(P_data)
is unknown but common to all rows, so KL-KLbest is each model's KL excess over the best one;
as KL >= 0, H(P_data) <= {best:.1f} nats per sample (the best row, within its standard error).""",
          file=file)
    if any(r.pseudo for r in result.rows):
        print(f"""† PairwiseMRF: pseudo-log-likelihood sum_i log P_w(x_i | x_-i) (its partition function is out
of reach for {result.n_states}^{d} states), not comparable with the exact log-likelihoods above.""",
              file=file)


def _write_grid(out, real, samples, n_states, image_shape, n_show) -> str:
    """One row of images per source (real data first), each row labelled on its left."""
    from ._png import text_image, tile_images, write_png

    scale = max(1, 32 // max(image_shape))
    rows = {"data": real, **samples}
    n_cols = n_show if image_shape[0] > 1 else 1
    pad = 2
    strips = [tile_images(_to_pixels(X[:n_show], n_states, image_shape, scale), n_cols=n_cols,
                          pad=pad, fill=128) for X in rows.values()]
    labels = [text_image(_short_label(name), scale=2) for name in rows]
    width = max(lab.shape[1] for lab in labels) + 8
    out_rows = []
    for lab, strip in zip(labels, strips):
        panel = np.full((strip.shape[0], width), 255, dtype=np.uint8)
        y = (strip.shape[0] - lab.shape[0]) // 2
        panel[y:y + lab.shape[0], 4:4 + lab.shape[1]][lab == 1] = 0
        out_rows.append(np.concatenate([panel, strip], axis=1))
    return write_png(out, np.concatenate(out_rows, axis=0))


def _short_label(name: str) -> str:
    name = (name.replace("HiddenChowLiuTree", "HCLT").replace("ChowLiuTree", "Chow-Liu")
            .replace("TreeMixture", "TreeMix").replace("PairwiseMRF", "MRF"))
    return name.split(" (")[0] + ("" if " (" not in name else " " + name.split(" (")[1].rstrip(")"))
