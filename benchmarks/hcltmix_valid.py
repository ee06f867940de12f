"""Does a mixture of HCLTs over the top Chow-Liu trees help on valid? (issue 20, part 2)

Fits HiddenChowLiuTree(K) and HCLTMixture(M, K) with ``fd.select`` (one setting per call,
early stopping on valid with patience 3, dedupe, alpha=0.02, rng=0, max_iter=80) on the
binary density benchmarks and prints one JSON line per fit: valid and test mean
log-likelihood, fit seconds, EM iterations. Run: ``python benchmarks/hcltmix_valid.py
[data_home] [set ...]`` (the machine it ran on: 2 AVX2 cores shared with other jobs).
"""
import json
import sys
import time

import fastdgm as fd
from fastdgm.density_data import load_density_benchmark

CONFIGS = [("HCLT", 1, 8), ("HCLT", 1, 16), ("HCLT", 1, 32), ("MIX", 2, 8), ("MIX", 4, 8), ("MIX", 2, 16),
           ("MIX", 4, 16)]


def main(argv):
    home = argv[0] if argv else "/work/shared/data/density"
    sets = argv[1:] or ["nltcs", "plants", "accidents"]
    for name in sets:
        train, valid, test = load_density_benchmark(name, data_home=home)
        for kind, M, K in CONFIGS:
            cls, grid = ((fd.HiddenChowLiuTree, {"n_hidden": [K]}) if kind == "HCLT"
                         else (fd.HCLTMixture, {"n_hidden": [K], "n_trees": [M]}))
            t0 = time.perf_counter()
            sel = fd.select(cls, train, valid, grid, n_states=2, early_stopping=3, dedupe=True, alpha=0.02,
                            rng=0, max_iter=80)
            row = sel.table[0]
            print(json.dumps({"set": name, "model": kind, "M": M, "K": K, "total_hidden": M * K,
                              "train": round(row["train"], 4), "valid": round(row["valid"], 4),
                              "test": round(sel.best.score(test), 4), "fit_s": round(row["fit_seconds"], 1),
                              "n_iter": row.get("n_iter"), "wall_s": round(time.perf_counter() - t0, 1)}),
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
