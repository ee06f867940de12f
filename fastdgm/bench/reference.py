"""The published reference of ``fastdgm bench --density``: test log-likelihoods of HCLT
(hidden Chow-Liu tree probabilistic circuits) on the twenty standard binary density-estimation
sets (Liu & Van den Broeck, "Tractable Regularization of Probabilistic Circuits", NeurIPS 2021).

Source: the training logs of github.com/UCLA-StarAI/Tractable-PC-Regularization, commit
05743c72102c350ada85d14381e911ce6da4fb4f, ``non-deterministic PCs/logs_12_4_0.1_0.002_0.001_{1..5}/NAME.txt``
(12 hidden categories, 4 trees, pseudocount 0.1, soft regularisation 0.002, entropy
regularisation 0.001; seeds 1 to 5). Each log line is ``train valid test`` (average
log-likelihood in nats per sample) after one EM epoch; the value here is the third number
of the last line (the final epoch), rounded to 4 decimals, per seed, and the reference
is the mean over the five seeds (as the repository's ``display_results.jl`` reports it).
Written down once from the logs (a table in the package: nothing is read from the network).
"""
from __future__ import annotations

import statistics

__all__ = ["HCLT_REFERENCE_SEEDS", "HCLT_REFERENCE", "REFERENCE_SOURCE"]

REFERENCE_SOURCE = ("UCLA-StarAI/Tractable-PC-Regularization@05743c7 "
                    "non-deterministic PCs/logs_12_4_0.1_0.002_0.001_*: HCLT, final-epoch test LL, mean of 5 seeds")
"""Where :data:`HCLT_REFERENCE` comes from (one line, for the report)."""

HCLT_REFERENCE_SEEDS: dict[str, tuple[float, ...]] = {
    "nltcs": (-6.0069, -5.9993, -5.9954, -5.9948, -6.0001),
    "msnbc": (-6.0541, -6.0668, -6.0517, -6.0639, -6.0518),
    "kdd": (-2.1832, -2.1835, -2.1830, -2.1829, -2.1842),
    "plants": (-14.3132, -14.4241, -14.3777, -14.0126, -14.1888),
    "baudio": (-39.7704, -39.7986, -39.7555, -39.7738, -39.7727),
    "jester": (-52.4566, -52.4668, -52.4681, -52.4490, -52.4734),
    "bnetflix": (-56.2897, -56.2748, -56.2717, -56.3011, -56.2516),
    "accidents": (-26.7856, -26.7023, -26.7514, -26.7642, -26.7182),
    "tretail": (-10.8733, -10.8682, -10.8687, -10.8837, -10.8768),
    "pumsb_star": (-23.3265, -23.6928, -23.6630, -23.5390, -24.0195),
    "dna": (-79.3356, -78.9935, -79.0910, -78.9030, -78.9558),
    "kosarek": (-10.6653, -10.6650, -10.6728, -10.6645, -10.6588),
    "msweb": (-9.9866, -10.0136, -10.0080, -10.0397, -9.8909),
    "book": (-33.8472, -33.8178, -33.8181, -33.8468, -33.8361),
    "tmovie": (-50.6921, -50.6971, -50.8196, -50.9017, -50.9879),
    "cwebkb": (-153.1853, -153.3410, -153.4443, -150.8649, -153.0325),
    "cr52": (-84.6787, -92.8233, -84.6580, -84.6879, -84.4524),
    "c20ng": (-151.9218, -151.5396, -151.7071, -151.5776, -160.2618),
    "bbc": (-250.0704, -251.5256, -249.6336, -251.4324, -252.5834),
    "ad": (-16.0430, -16.0799, -16.0202, -16.0394, -16.1753),
}
"""Data set (fastdgm's name) -> final-epoch test log-likelihood (nats per sample) of seeds 1 to 5."""

HCLT_REFERENCE: dict[str, float] = {name: statistics.fmean(v) for name, v in HCLT_REFERENCE_SEEDS.items()}
"""Data set -> published test log-likelihood (nats per sample): the mean of the five seeds."""
