"""Every parallel kernel is checked against a slow twin: this registry names the test that
compares it (serial and parallel twins, against an independent numpy/pure-Python reference or
exact enumeration). A kernel added without an entry here fails this test."""
import importlib
import os
import pkgutil

import pytest

import fastdgm.kernels as kernels_pkg
from fastdgm.kernels.parallel import all_kernels

_TESTS = os.path.dirname(os.path.abspath(__file__))

SLOW_TWIN_TESTS = {
    "likelihood.factorized_log_prob": "test_likelihood_kernels.py::test_factorized_log_prob",
    "likelihood.binary_log_prob": "test_likelihood_kernels.py::test_binary_log_prob",
    "likelihood.mixture_log_prob": "test_likelihood_kernels.py::test_mixture_log_prob_and_responsibilities",
    "likelihood.mixture_responsibilities": "test_likelihood_kernels.py::test_mixture_log_prob_and_responsibilities",
    "likelihood.tree_log_prob": "test_likelihood_kernels.py::test_tree_log_prob",
    "likelihood.weighted_counts": "test_likelihood_kernels.py::test_weighted_counts",
    "likelihood.mixture_em_stats": "test_likelihood_kernels.py::test_mixture_em_stats",
    "likelihood.pair_counts": "test_likelihood_kernels.py::test_pair_counts_and_mutual_info",
    "likelihood.pack_states": "test_likelihood_kernels.py::test_pack_states",
    "likelihood.random_resp_stats": "test_likelihood_kernels.py::test_random_resp_stats",
    "likelihood.max_state": "test_likelihood_kernels.py::test_max_state",
    "ancestral.factorized_sample": "test_likelihood_kernels.py::test_samplers_match_references_bit_for_bit",
    "ancestral.mixture_sample": "test_likelihood_kernels.py::test_samplers_match_references_bit_for_bit",
    "ancestral.tree_sample": "test_likelihood_kernels.py::test_samplers_match_references_bit_for_bit",
    "gibbs_common.chain_setup": "test_gibbs.py::test_chain_setup_matches_references",
    "gibbs_grid.ising_torus_chains": "test_gibbs_twin.py::test_ising_kernel_equals_sequential_twin",
    "gibbs_grid.ising_torus_sites": "test_gibbs_twin.py::test_ising_kernel_equals_sequential_twin",
    "gibbs_grid.potts_torus_chains": "test_gibbs_twin.py::test_potts_torus_kernel_equals_sequential_twin",
    "gibbs_grid.potts_torus_sites": "test_gibbs_twin.py::test_potts_torus_kernel_equals_sequential_twin",
    "gibbs_grid.grid_sweeps_chains": "test_gibbs.py::test_marginals_match_enumeration",
    "gibbs_grid.grid_sweeps_sites": "test_gibbs.py::test_thread_and_layout_invariance",
    "gibbs_graph.graph_sweeps_chains": "test_gibbs.py::test_marginals_match_enumeration",
    "gibbs_graph.graph_sweeps_sites": "test_gibbs.py::test_thread_and_layout_invariance",
    "gibbs_graph.graph_sweeps_random": "test_gibbs.py::test_thread_invariance_other_schedules",
    "mrf_exact.energy_rows": "test_mrf.py::test_exact_quantities_match_slow",
    "mrf_exact.enum_log_partition": "test_mrf.py::test_exact_quantities_match_slow",
    "mrf_exact.pll_rows": "test_mrf.py::test_exact_quantities_match_slow",
    "mrf_exact.pll_grad": "test_mrf.py::test_pll_gradient_matches_finite_differences",
    "pairwise._cooc_dense": "test_pairwise.py::test_unweighted_counts_exact",
    "pairwise._cooc_csr": "test_pairwise.py::test_scipy_sparse_input",
    "pairwise._weighted_pair_tables": "test_pair_stats.py::test_weighted_pair_tables_twins",
    "pairwise._mutual_info_from_counts": "test_pairwise.py::test_mutual_information_matches_pair_kernel",
    "ancestral.treemix_sample": "test_treemix.py::test_sample_matches_slow_reference",
    "treemix.treemix_log_prob": "test_treemix.py::test_log_prob_exact",
    "treemix.treemix_responsibilities": "test_treemix.py::test_em_matches_slow_twin",
    "treemix.dirichlet_responsibilities": "test_treemix.py::test_em_matches_slow_twin",
    "treemix.sparse_pair_counts": "test_treemix.py::test_pair_counter_matches_slow",
    "treemix.binary_pair_tables": "test_treemix.py::test_pair_counter_matches_slow",
    "missing.mixture_missing_log_prob": "test_missing.py::test_marginal_log_prob_matches_enumeration",
    "missing.tree_missing_log_prob": "test_missing.py::test_marginal_log_prob_matches_enumeration",
    "missing.mixture_fill": "test_missing.py::test_fill_g_test",
    "missing.tree_fill": "test_missing.py::test_fill_g_test",
    "hclt.log_prob": "test_hclt.py::test_log_prob_matches_enumeration_and_sums_to_one",
    "hclt.em_stats": "test_hclt.py::test_one_em_step_matches_exact_posteriors",
    "hclt_gemm.log_prob_gemm": "test_hclt_gemm.py::test_log_prob_matches_enumeration",
    "hclt_gemm.em_stats_gemm": "test_hclt_gemm.py::test_one_em_step_matches_exact_posteriors",
    "hclt.fill": "test_hclt.py::test_fill_g_test_against_exact_conditional",
    "hclt.sample": "test_hclt.py::test_sample_g_test",
    "bayesnet.bn_log_prob": "test_bayesnet.py::test_log_prob_exact",
    "bayesnet.bn_sample": "test_bayesnet.py::test_samples_follow_the_joint",
    "bayesnet.family_scores": "test_bayesnet.py::test_score_matches_numpy_twin",
    "mrf_missing.missing_scores": "test_mrf.py::test_missing_log_prob_matches_enumeration",
    "mrf_missing.missing_gibbs": "test_mrf.py::test_fill_g_test",
}


def _all_kernel_names():
    for mod in pkgutil.iter_modules(kernels_pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"fastdgm.kernels.{mod.name}")
    return {f"{k.py_func.__module__.rsplit('.', 1)[1]}.{k.__name__}" for k in all_kernels()}


def test_every_parallel_kernel_has_a_slow_twin_test():
    missing = sorted(_all_kernel_names() - set(SLOW_TWIN_TESTS))
    assert not missing, f"parallel kernels without a slow-twin test in SLOW_TWIN_TESTS: {missing}"


@pytest.mark.parametrize("kernel, test", sorted(SLOW_TWIN_TESTS.items()))
def test_registered_twin_test_exists(kernel, test):
    path, name = test.split("::")
    with open(os.path.join(_TESTS, path), encoding="utf-8") as f:
        assert f"def {name}(" in f.read(), f"{kernel}: {test} not found"
