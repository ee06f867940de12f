"""Shape twins of the density benchmark's sets that are not on this machine, for timing.

The speed target of the density benchmark is about all twenty sets (``fastdgm bench
--density``, selection included); only six of them are in ``../shared/data/density``. This
script writes, for every other set, a *twin*: binary data of exactly the set's (n_train,
n_valid, n_test, d), sampled from a hidden Chow-Liu tree (K = 8, 10 EM iterations) fitted on
the shared set of the nearest larger width, or of a narrower one within 10% of d (msnbc's 17
columns from nltcs's 16: kdd's sparse columns would make a far easier set), the d columns kept
at random (d above the source's: samples of its model side by side, e.g. two of c20ng's). The twins have the real sets' shapes and a learnable
structure, so the selections run the same grids and similar numbers of EM iterations; their
log-likelihoods mean nothing and are never compared with published results. The six real sets
are linked beside them, so one data home holds all twenty::

    python benchmarks/density_twins.py /tmp/twins        # then:
    fastdgm bench --density /tmp/twins

Seeded: the same files on every run (per set, the seed is the CRC-32 of its name).
"""
from __future__ import annotations

import os
import pathlib
import sys
import zlib

import numpy as np

import fastdgm as fd
from fastdgm.density_data import density_benchmark_info, list_density_benchmarks, load_density_benchmark

_SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "density"
DATA_HOME = os.environ.get("FASTDGM_DATA") or next(
    (str(p) for p in (_SHARED, pathlib.Path("/work/shared/data/density")) if p.is_dir()), str(_SHARED))


def _present(data_home: str) -> list[str]:
    out = []
    for name in list_density_benchmarks():
        try:
            load_density_benchmark(name, data_home=data_home)
            out.append(name)
        except FileNotFoundError:
            pass
    return out


def _write(path: pathlib.Path, X: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    np.savetxt(tmp, X, fmt="%d", delimiter=",")
    os.replace(tmp, path)


def write_twins(folder: str, data_home: str = DATA_HOME, n_hidden: int = 8) -> dict[str, str]:
    """Write the twins of the absent sets under ``folder/NAME/`` and link the present ones.

    Parameters
    ----------
    folder : str
        The new data home.
    data_home : str
        Where the real sets are.
    n_hidden : int
        K of the source models.

    Returns
    -------
    dict
        Set name -> ``"real"`` or the name of the source set of its twin.
    """
    present = _present(data_home)
    if not present:
        raise FileNotFoundError(f"no density benchmark set under {data_home}")
    out_dir = pathlib.Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    widths = sorted((density_benchmark_info(n).d, n) for n in present)
    models: dict[str, fd.HiddenChowLiuTree] = {}

    def source_model(name):
        if name not in models:
            train = load_density_benchmark(name, data_home=data_home)[0]
            models[name] = fd.HiddenChowLiuTree.fit(train, n_hidden=n_hidden, n_states=2, rng=0, max_iter=10)
        return models[name]

    made = {}
    for name in list_density_benchmarks():
        if name in present:
            link = out_dir / name
            if not link.exists():
                link.symlink_to(pathlib.Path(data_home).resolve() / name)
            made[name] = "real"
            continue
        info = density_benchmark_info(name)
        seed = zlib.crc32(name.encode())
        close = [n for d, n in widths if 0.9 * info.d <= d < info.d]
        src = close[-1] if close else next((n for d, n in widths if d >= info.d), widths[-1][1])
        rows = info.n_train + info.n_valid + info.n_test
        m = source_model(src)
        parts, have = [], 0
        while have < info.d:                    # side-by-side samples when d exceeds the source's
            parts.append(m.sample(rows, rng=seed + len(parts)))
            have += m.n_dims
        cols = np.random.default_rng(seed).choice(have, size=info.d, replace=False)
        X = np.ascontiguousarray(np.hstack(parts)[:, np.sort(cols)]).astype(np.uint8)
        cut = np.cumsum([info.n_train, info.n_valid])
        for split, part in zip(("train", "valid", "test"), np.split(X, cut)):
            _write(out_dir / name / f"{name}.{split}.data", part)
        made[name] = src
        print(f"{name}: twin of shape ({rows}, {info.d}) sampled from the {src} model", flush=True)
    return made


if __name__ == "__main__":
    write_twins(sys.argv[1] if len(sys.argv) > 1 else "density-twins")
