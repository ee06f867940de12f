"""The ``fastdgm`` command line (also ``python -m fastdgm``).

Subcommands: ``demo`` (the main job), ``bench`` (scaling report), ``info`` (configuration),
and batch commands for scripts that read and write ``.npy``/``.npz`` files: ``sample``,
``gibbs``, ``fit``, ``score``. Every command takes ``--seed S`` (same result as the API
with ``rng=S``) and ``--threads N``. Outputs are written to a temporary file and renamed,
so a killed job never leaves a half-written file. Errors print one line on stderr and exit
with status 1 (2 for usage errors), without a traceback unless ``--debug``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from ._fit import fit_model
from ._io import (
    CLIError,
    atomic_save_npy,
    check_out_path,
    load_array,
    load_data,
    load_model,
    parse_grid, parse_search,
)

__all__ = ["main"]


def _say(args, *msg) -> None:
    if not args.quiet:
        print(*msg, file=sys.stderr)


# ---------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    from ._config import show_config

    show_config()
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(out=args.out, data=args.data, quick=args.quick, seed=args.seed, progress=args.progress,
             quiet=args.quiet, n_train=args.n_train)
    return 0


def cmd_bench(args) -> int:
    if args.density is not None:
        from .bench.density import density_table, format_density_table

        names = None if args.datasets is None else [k.strip() for k in args.datasets.split(",") if k.strip()]
        rows = density_table(args.density or None, names=names, progress=args.progress)
        print(format_density_table(rows))
        if args.json:
            import json

            from ._atomic import atomic_output

            with atomic_output(check_out_path(args.json, ".json")) as tmp, open(tmp, "w") as f:
                json.dump(rows, f, indent=1, default=float)
        return 0
    from .bench import run_bench

    kernels = None if args.kernels is None else [k.strip() for k in args.kernels.split(",") if k.strip()]
    run_bench(quick=args.quick, json_path=args.json, plot_path=args.plot, progress=args.progress,
              quiet=args.quiet, source=args.source, kernels=kernels)
    return 0


def cmd_sample(args) -> int:
    import numpy as np

    out = check_out_path(args.out, ".npy")
    sources = [s for s in (args.probs, args.logits, args.model) if s is not None]
    if len(sources) != 1:
        raise CLIError("give exactly one of --probs, --logits and --model")
    if args.size is not None and args.size < 0:
        raise CLIError(f"--size must be >= 0, got {args.size}")
    if args.model is not None:
        model = load_model(args.model)
        if args.size is None:
            raise CLIError("--size is required with --model")
        X = model.sample(args.size, rng=args.seed)
    else:
        from .sampling import categorical

        arr = load_array(args.probs or args.logits, "--probs file" if args.probs else "--logits file")
        if arr.dtype.kind not in "fiu":
            raise CLIError(f"probabilities must be numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
        if arr.ndim == 1:
            size = args.size                      # None: one draw, saved as a 0-d array
        else:
            size = None if args.size is None else (args.size,) + arr.shape[:-1]
        kw = {"logits": arr} if args.logits else {"p": arr}
        X = np.asarray(categorical(size=size, rng=args.seed, dtype=args.dtype, **kw))
    atomic_save_npy(out, X)
    _say(args, f"wrote {X.shape} {X.dtype} samples to {out}")
    return 0


def _gibbs_model(args):
    if args.model is not None:
        if args.grid is not None:
            raise CLIError("give either --model or --grid, not both")
        return load_model(args.model)
    if args.grid is None:
        raise CLIError("give --model FILE or --grid HxW --states C --coupling B")
    if args.states is None or args.coupling is None:
        raise CLIError("--grid needs --states C and --coupling B")
    from .models.mrf import PairwiseMRF

    return PairwiseMRF.grid(parse_grid(args.grid), n_states=args.states, coupling=args.coupling,
                            periodic=not args.open)


def cmd_gibbs(args) -> int:
    out = check_out_path(args.out, ".npz")
    model = _gibbs_model(args)
    from ._rng import make_key
    from .mcmc import GibbsResult, gibbs
    from .models.base import atomic_savez

    kw = dict(burn_in=args.burn_in, thin=args.thin, rng=args.seed, progress=args.progress)
    res = None
    if args.checkpoint is not None:
        ck = check_out_path(args.checkpoint, ".npz", "--checkpoint")
        if os.path.realpath(ck) == os.path.realpath(out):
            raise CLIError(f"--checkpoint and --out are the same file {out}: give two files")
        kw["checkpoint"] = ck
        kw["checkpoint_every"] = args.checkpoint_every
        if os.path.exists(ck):
            try:
                prev = GibbsResult.load(ck)
            except (ValueError, OSError, KeyError) as exc:
                raise CLIError(f"checkpoint {ck} is not a readable Gibbs checkpoint ({exc})") from None
            if prev.key != make_key(args.seed):
                raise CLIError(f"checkpoint {ck} was written by a run with another --seed: remove it "
                               "or use the same seed")
            if prev.model_id != model.fingerprint:
                raise CLIError(f"checkpoint {ck} was written for another model: remove it or use "
                               "the same model")
            settings = (prev.burn_in, prev.n_sweeps, prev.thin, prev.n_chains)
            if settings != (args.burn_in, args.sweeps, args.thin, args.chains):
                raise CLIError(f"checkpoint {ck} holds a run with burn_in, sweeps, thin, chains = "
                               f"{settings}: use the same settings to finish it, or remove it")
            kw["rng"] = None
            kw["resume"] = ck
            if prev.complete:
                res = prev
                _say(args, f"checkpoint {ck} holds the finished run: writing it")
            else:
                _say(args, f"resuming from checkpoint {ck} ({prev.sweeps_done} of "
                           f"{prev.burn_in + prev.n_sweeps} sweeps done)")
    t0 = time.perf_counter()
    if res is None:
        res = gibbs(model, args.chains, args.sweeps, **kw)
    dt = time.perf_counter() - t0
    atomic_savez(out, samples=res.samples, energy=res.energy, state=res.state)
    _say(args, f"{args.chains} chains x {args.sweeps} sweeps in {dt:.2f} s; wrote samples "
               f"{res.samples.shape}, energy {res.energy.shape}, state {res.state.shape} to {out}")
    return 0


_FLAG_PARAMS = {"alpha": "--alpha", "n_components": "--components", "n_hidden": "--hidden", "l2": "--l2",
                "pairwise": "--pairwise", "edges": "--grid/--edges", "periodic": "--open", "parents": "--parents"}
"""Hyper-parameter -> the flag of ``fastdgm fit`` that sets it (the rest go through --param)."""


def _fit_options(args, X) -> dict:
    """The hyper-parameters the command line gives, by name: the flags that were given, --param
    NAME=VALUE, and --seed as ``rng`` where the kind's fit takes one."""
    import math

    from ._fit import fit_parameters, model_class

    opts = {"alpha": args.alpha, "n_components": args.components, "n_hidden": args.hidden,
            "l2": args.l2, "pairwise": args.pairwise}
    opts = {k: v for k, v in opts.items() if v is not None}
    if args.grid:
        grid = parse_grid(args.grid)
        if math.prod(grid) != X.shape[1]:
            raise CLIError(f"--grid {args.grid} has {math.prod(grid)} sites but the data has "
                           f"d = {X.shape[1]} columns")
        opts["edges"] = tuple(grid)
        opts["periodic"] = not args.open
    elif args.open:
        raise CLIError("--open applies to a lattice given with --grid HxW")
    if args.edges is not None:
        if args.grid:
            raise CLIError("give --grid HxW or --edges FILE, not both")
        edges = load_array(args.edges, "--edges file")
        if edges.ndim != 2 or edges.shape[1] != 2 or edges.dtype.kind not in "iu":
            raise CLIError(f"--edges file must hold an (m, 2) integer array, got {edges.dtype} {edges.shape}")
        opts["edges"] = edges
    if args.parents is not None:
        opts["parents"] = _load_parents(args.parents, X.shape[1])
    for item in args.param or []:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise CLIError(f"--param {item!r}: expected NAME=VALUE (e.g. max_iter=50)")
        opts[name] = _param_value(value.strip())
    params = fit_parameters(model_class(args.kind))
    if "rng" in params and "rng" not in opts:
        opts["rng"] = args.seed
    if "edges" in params and params["edges"].default is params["edges"].empty and "edges" not in opts:
        raise CLIError(f"fit {args.kind} needs --grid HxW (a lattice over the d columns) or --edges FILE "
                       "((m, 2) site pairs)")
    return opts


def _load_parents(path: str, d: int) -> list:
    """The DAG of ``--parents FILE``: a saved model's ``parents`` (a BayesianNetwork file), or an
    (e, 2) integer array of (parent, child) edges; d parent lists."""
    import numpy as np

    from ._io import CLIError

    is_model = False
    if path.endswith(".npz") and ".npz:" not in path and os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as f:
                is_model = "__model__" in f.files
        except (ValueError, OSError, EOFError) as exc:
            raise CLIError(f"--parents file {path} is not a readable numpy file ({exc})") from None
    if is_model:
        model = load_model(path)
        if not hasattr(model, "parents"):
            raise CLIError(f"--parents file {path} holds a {type(model).__name__}, not a network with parents")
        parents = [np.asarray(p).tolist() for p in model.parents]
        if len(parents) != d:
            raise CLIError(f"--parents file {path} is a network of {len(parents)} nodes but the data has "
                           f"d = {d} columns")
        return parents
    edges = load_array(path, "--parents file")
    if edges.ndim != 2 or edges.shape[1] != 2 or edges.dtype.kind not in "iu" or (
            edges.size and (edges.min() < 0 or edges.max() >= d)):
        raise CLIError(f"--parents file must be a network model file or an (e, 2) integer array of "
                       f"(parent, child) columns in [0, {d}), got {edges.dtype} {edges.shape}")
    return [edges[edges[:, 1] == j, 0].tolist() for j in range(d)]


def _param_value(text: str):
    """A --param value: an int, a float, True/False/None, else the string itself."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, (int, float, bool, type(None))) else text


def cmd_fit(args) -> int:
    from ._fit import block_kinds, check_options, fit_parameters, model_class

    out = check_out_path(args.out, ".npz")
    cls = model_class(args.kind)
    search = parse_search(args.search)
    if args.grid and "=" in args.grid:          # --grid alpha=0.01,0.1 is a search grid too
        search.update(parse_search([args.grid]))
        args.grid = None
    if search and not args.valid:
        raise CLIError("--search needs --valid FILE: the settings are compared on the validation data")
    blocks = args.block_rows is not None
    if blocks and (args.kind not in block_kinds() or args.valid):
        raise CLIError(f"--block-rows fits {', '.join(block_kinds())} without --valid")
    X = load_data(args.data, mmap=blocks)
    options = _fit_options(args, X)
    check_options(args.kind, {**options, **search}, flags=_FLAG_PARAMS)
    t0 = time.perf_counter()
    if blocks:
        from .blockfit import fit_in_blocks

        if "progress" in fit_parameters(cls):
            options["progress"] = args.progress
        model = fit_in_blocks(cls, X, block_rows=args.block_rows, n_states=args.states, **options)
    elif args.valid:
        from .selection import select

        V = load_data(args.valid)
        for k in search:
            options.pop(k, None)
        if not search:                  # nothing to search: the one setting, scored on --valid
            name = next(iter(options), None)
            search = {name: [options.pop(name)]} if name else {}
        sel = select(cls, X, V, search, n_states=args.states, progress=args.progress, **options)
        print(sel.format())
        model = sel.best
    else:
        model = fit_model(args.kind, X, n_states=args.states, progress=args.progress, **options)
    dt = time.perf_counter() - t0
    model.save(out)
    _say(args, f"fitted {model!r} on {X.shape[0]} samples in {dt:.2f} s; wrote {out}")
    return 0


def cmd_score(args) -> int:
    import math

    import numpy as np

    model = load_model(args.model)
    X = load_data(args.data)
    if args.pseudo:
        if not hasattr(model, "pseudo_log_likelihood"):
            raise CLIError(f"--pseudo: {type(model).__name__} has no pseudo-likelihood (its "
                           "likelihood is exact: drop --pseudo)")
        lp = np.asarray(model.pseudo_log_likelihood(X), dtype=np.float64)
    else:
        try:
            lp = np.asarray(model.log_prob(X), dtype=np.float64)
        except ValueError as exc:
            if hasattr(model, "pseudo_log_likelihood") and "log_partition" in str(exc):
                raise CLIError(f"{exc}; use --pseudo for the pseudo-log-likelihood") from None
            raise
    n = lp.shape[0]
    mean = float(lp.mean()) if n else float("nan")
    se = float(lp.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    d = model.n_dims
    print(f"n_samples          {n}")
    if args.pseudo:
        print(f"pseudo_log_lik     {mean:.6f} nats/sample (stderr {se:.6f}): sum_i log P(x_i | x_-i)")
    else:
        print(f"log_likelihood     {mean:.6f} nats/sample (stderr {se:.6f})")
        print(f"cross_entropy      {-mean:.6f} nats/sample = KL(P_data||P_model) + H(P_data)")
    print(f"bits_per_dim       {-mean / (d * math.log(2)):.6f}")
    if args.out:
        out = check_out_path(args.out, ".npy")
        atomic_save_npy(out, lp)
        _say(args, f"wrote per-sample log-likelihoods {lp.shape} to {out}")
    return 0


# ---------------------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------------------
def _int_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, described as ``what`` in errors."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
        return v
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("common options")
    g.add_argument("--seed", type=_nonneg_int, default=0,
                   help="random seed; the same result as the Python API with rng=SEED (default 0)")
    g.add_argument("--threads", type=_positive_int, default=None,
                   help="threads of the parallel kernels (default: all available CPUs)")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress on long steps (default: only when stderr is a terminal)")
    g.add_argument("--quiet", "-q", action="store_true", help="print only results and errors")
    g.add_argument("--debug", action="store_true", help="show the full traceback on errors")

    p = argparse.ArgumentParser(
        prog="fastdgm",
        description="Fast, exact kernels for explicit distribution learning over discrete data: "
                    "fit P_w by maximum likelihood, score it, sample it.",
        epilog="Run 'fastdgm COMMAND --help' for the options of each command.")
    from ._version import __version__

    p.add_argument("--version", action="version", version=f"fastdgm {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("demo", parents=[common], help="fit every model on the embedded digits data, "
                       "print the likelihood table and write a PNG of sampled digits",
                       description="Fit Factorized, Mixture, ChowLiuTree and PairwiseMRF on the UCI "
                       "optical digits (or --data), print train/test log-likelihoods and write a PNG "
                       "grid of sampled digits beside real ones.")
    s.add_argument("--out", default="fastdgm_demo.png", help="PNG file to write (default "
                   "./fastdgm_demo.png)")
    s.add_argument("--data", default=None, help="your own (n, d) integer data (.npy/.npz/.csv) "
                   "instead of the digits")
    s.add_argument("--quick", action="store_true", help="fewer components, sweeps and samples")
    s.add_argument("--n-train", type=_positive_int, default=None,
                   help="use at most this many training samples (a subsample)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("bench", parents=[common], help="run the benchmark suites and print scaling "
                       "tables", description="Time every kernel next to its numpy baseline in the "
                       "same run; print throughputs, speed-ups and growth exponents.")
    s.add_argument("--quick", action="store_true", help="small sizes, under two minutes")
    s.add_argument("--json", default=None, help="write the results as JSON to this file")
    s.add_argument("--plot", default=None, help="draw log-log scaling plots to this PNG "
                   "(needs matplotlib)")
    s.add_argument("--source", choices=["auto", "pytest", "embedded"], default="auto",
                   help="pytest: the benchmarks/ suites of a source checkout; embedded: the "
                   "timings built into the package; auto: embedded with --quick, else pytest "
                   "when the suites and pytest-benchmark are there (default)")
    s.add_argument("--kernels", default=None, help="comma-separated kernel names to run (default "
                   "all), e.g. categorical-single,gibbs-potts")
    s.add_argument("--density", nargs="?", const="", default=None, metavar="DATA_HOME",
                   help="the density-estimation benchmark instead: test log-likelihood and fit time "
                   "of every model on each data set under DATA_HOME (default: $FASTDGM_DATA)")
    s.add_argument("--datasets", default=None, help="with --density: comma-separated data set names")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("info", parents=[common], help="print versions, threads, threading layer "
                       "and JIT cache (show_config)")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("sample", parents=[common], help="draw categorical samples or samples of a "
                       "saved model", description="Draw samples by cumulative-level thresholding. "
                       "--probs/--logits: an array (C,) gives --size draws; (n, C) one draw per row "
                       "(--size N: N draws per row, shape (N, n)). --model: --size samples (N, d).")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--probs", help=".npy/.npz file of weights (C,) or (..., C)")
    src.add_argument("--logits", help=".npy/.npz file of logits (C,) or (..., C)")
    src.add_argument("--model", help="model file written by 'fastdgm fit' or Model.save")
    s.add_argument("--size", type=_nonneg_int, default=None, help="number of draws")
    s.add_argument("--dtype", default="int64", help="integer dtype of categorical draws "
                   "(default int64)")
    s.add_argument("--out", required=True, help=".npy file to write")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("gibbs", parents=[common], help="Gibbs-sample a Markov random field",
                       description="Run K Gibbs chains on a saved PairwiseMRF or a Potts grid and "
                       "write samples (kept, chains, d), energy (sweeps, chains) and the final "
                       "state to an .npz. With --checkpoint, a killed run started again with the "
                       "same command resumes where it stopped and gives the same result.")
    s.add_argument("--model", help="PairwiseMRF model file")
    s.add_argument("--grid", help="Potts lattice HxW (periodic unless --open)")
    s.add_argument("--states", type=_positive_int, help="states per site C (with --grid)")
    s.add_argument("--coupling", type=float, help="Potts coupling beta (with --grid)")
    s.add_argument("--open", action="store_true", help="open instead of periodic boundaries")
    s.add_argument("--chains", type=_positive_int, required=True)
    s.add_argument("--sweeps", type=_positive_int, required=True)
    s.add_argument("--burn-in", type=_nonneg_int, default=0, help="sweeps run first and not kept")
    s.add_argument("--thin", type=_positive_int, default=1, help="keep every THIN-th sweep")
    s.add_argument("--checkpoint", default=None, help="checkpoint file (.npz), written atomically "
                   "from time to time; resumed from if it exists")
    s.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                   help="seconds between checkpoint writes (default 60)")
    s.add_argument("--out", required=True, help=".npz file to write")
    s.set_defaults(func=cmd_gibbs)

    s = sub.add_parser("fit", parents=[common], help="fit a model by maximum (pseudo-)likelihood",
                       description="Fit a model to (n, d) integer data and save it (.npz).")
    s.add_argument("kind", help="model family: the kind of a registered model (fastdgm info lists them; "
                   "e.g. factorized, chowliu, mixture, treemix (mixture of Chow-Liu trees), hclt (hidden "
                   "Chow-Liu tree), hcltmix (mixture of HCLTs on the top Chow-Liu trees, --param "
                   "n_trees=M), mrf)")
    s.add_argument("--data", required=True, help="(n, d) integer data (.npy/.npz/.csv)")
    s.add_argument("--out", required=True, help=".npz model file to write")
    s.add_argument("--states", type=_positive_int, default=None, help="C (default: max + 1)")
    s.add_argument("--alpha", type=float, default=None, help="additive smoothing (default: the "
                   "model's)")
    s.add_argument("--components", type=_positive_int, default=None, help="mixture components K "
                   "(n_components; default: the model's)")
    s.add_argument("--hidden", type=_positive_int, default=None, help="hidden states K (n_hidden; "
                   "default: the model's)")
    s.add_argument("--param", action="append", default=None, metavar="NAME=VALUE",
                   help="any other keyword of the kind's fit (repeatable), e.g. max_iter=50")
    s.add_argument("--grid", default=None, help="lattice HxW of the d sites (mrf), periodic unless "
                   "--open")
    s.add_argument("--open", action="store_true", help="open lattice boundaries (mrf --grid)")
    s.add_argument("--edges", default=None, help="(m, 2) integer file of site pairs: a general "
                   "graph (mrf)")
    s.add_argument("--pairwise", choices=["full", "shared", "potts"], default=None,
                   help="mrf couplings: a (C, C) table per edge, one shared table, or one Potts "
                   "coupling (default full)")
    s.add_argument("--l2", type=float, default=None, help="L2 penalty of the pseudo-likelihood "
                   "fit (mrf)")
    s.add_argument("--valid", default=None, help="validation data: fit every --search setting and "
                   "keep the best on it (prints the table)")
    s.add_argument("--search", action="append", default=None, metavar="NAME=V1,V2,...",
                   help="values of a fit parameter to try with --valid (repeatable), e.g. "
                   "alpha=0.01,0.1,1 or n_components=10,20; '--grid NAME=...' works too")
    s.add_argument("--block-rows", type=_positive_int, default=None, help="fit block by block from a "
                   "memory-mapped .npy (out of core; kinds whose fit sums block statistics)")
    s.add_argument("--parents", default=None, metavar="FILE", help="bn: the DAG to fit the tables of "
                   "(no structure search; needed with --block-rows): a saved network's .npz, or an "
                   "(e, 2) integer file of (parent, child) edges")
    s.set_defaults(func=cmd_fit)

    s = sub.add_parser("score", parents=[common], help="mean log-likelihood of data under a model",
                       description="Print the mean log-likelihood (nats/sample, with its standard "
                       "error), the cross-entropy and bits per dimension of data under a model.")
    s.add_argument("--model", required=True, help="model file")
    s.add_argument("--data", required=True, help="(n, d) integer data")
    s.add_argument("--pseudo", action="store_true", help="the pseudo-log-likelihood of a "
                   "PairwiseMRF (when its partition function is out of reach)")
    s.add_argument("--out", default=None, help="optional .npy file for the per-sample "
                   "log-likelihoods (n,)")
    s.set_defaults(func=cmd_score)
    return p


def _one_line(exc: BaseException) -> str:
    lines = [m.strip() for m in str(exc).strip().splitlines() if m.strip()]
    text = " ".join(lines) if lines else type(exc).__name__
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("fastdgm"):
        return f"{exc.name} is not available in this installation of fastdgm"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or text}: {exc.filename}"
    if isinstance(exc, (ValueError, TypeError, OSError)):   # our messages name the argument
        return text
    return f"{type(exc).__name__}: {text}"


def main(argv=None) -> int:
    """Run the ``fastdgm`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 on error, 2 on a usage error, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.progress is None:
        args.progress = bool(getattr(sys.stderr, "isatty", lambda: False)()) and not args.quiet
    try:
        if args.threads is not None:
            from ._config import threads

            with threads(args.threads):
                return args.func(args)
        return args.func(args)
    except KeyboardInterrupt:
        print(f"fastdgm {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # pragma: no cover
            pass
        return 0
    except Exception as exc:  # one clear line, the traceback only on request
        if args.debug:
            raise
        print(f"fastdgm {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
