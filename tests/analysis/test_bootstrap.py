import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from readerstudy.analysis.bootstrap import BLOCK, bootstrap_auc, resample_indices
from readerstudy.analysis.roc import auc


def clustered_data(seed=0, n_clusters=60):
    """Two cases per cluster (like two breasts per exam), tied coarse scores, 4 columns."""
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(n_clusters), 2)
    truth = rng.random(clusters.size) < 0.25
    truth[:2] = [True, False]
    scores = np.round(truth[:, None] * 0.3 + rng.random((clusters.size, 4)), 1)
    return truth, scores, clusters


def naive_replicate_aucs(truth, scores, clusters, indices):
    """The baseline: rebuild each replicate's cases and call sklearn per column."""
    members = [np.flatnonzero(clusters == g) for g in range(clusters.max() + 1)]
    rows = []
    for drawn in indices:
        cases = np.concatenate([members[g] for g in drawn])
        rows.append([roc_auc_score(truth[cases], scores[cases, c]) for c in range(scores.shape[1])])
    return np.array(rows)


def test_vectorised_replicates_equal_naive_sklearn_loop():
    truth, scores, clusters = clustered_data()
    result = bootstrap_auc(truth, scores, clusters, replicates=BLOCK + 30, seed=42)
    indices = resample_indices(60, BLOCK + 30, 42)
    picked = np.r_[0:10, BLOCK - 2:BLOCK + 5]  # both random-stream blocks
    expected = naive_replicate_aucs(truth, scores, clusters, indices[picked])
    np.testing.assert_allclose(result.replicates[picked], expected, rtol=0, atol=1e-12)


def test_replicates_are_paired_across_columns():
    truth, scores, clusters = clustered_data(1)
    same = np.column_stack([scores[:, 0], scores[:, 0], scores[:, 1]])
    result = bootstrap_auc(truth, same, clusters, replicates=300, seed=3)
    np.testing.assert_array_equal(result.replicates[:, 0], result.replicates[:, 1])
    alone = bootstrap_auc(truth, scores[:, 1], clusters, replicates=300, seed=3)
    np.testing.assert_array_equal(alone.replicates[:, 0], result.replicates[:, 2])
    assert result.interval({"0": 1.0, "1": -1.0}).ci == (0.0, 0.0)


def test_clusters_travel_together():
    """A cluster holding one positive and one negative with the negative always outscoring
    the positive: whichever clusters are drawn, the pair enters together."""
    truth = np.array([1, 0, 1, 0])
    scores = np.array([0.2, 0.9, 0.8, 0.1])
    result = bootstrap_auc(truth, scores, clusters=[0, 0, 1, 1], replicates=400, seed=0)
    # Cluster-level draws give only {both clusters, only 0, only 1} compositions:
    # AUC 0.5 (one of each), 0.0 (cluster 0 alone), 1.0 (cluster 1 alone).
    values = set(np.unique(result.replicates[:, 0]))
    assert values == {0.0, 0.5, 1.0}
    loose = bootstrap_auc(truth, scores, clusters=None, replicates=400, seed=0)
    assert set(np.unique(loose.replicates[~np.isnan(loose.replicates[:, 0]), 0])) - values


def test_seed_reproducibility_and_recording():
    truth, scores, clusters = clustered_data(2)
    a = bootstrap_auc(truth, scores, clusters, replicates=200, seed=123)
    b = bootstrap_auc(truth, scores, clusters, replicates=200, seed=123)
    c = bootstrap_auc(truth, scores, clusters, replicates=200, seed=124)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    assert a.seed == 123
    drawn = bootstrap_auc(truth, scores, clusters, replicates=50)
    again = bootstrap_auc(truth, scores, clusters, replicates=50, seed=drawn.seed)
    np.testing.assert_array_equal(drawn.replicates, again.replicates)


def test_intervals_contain_estimate_and_estimate_is_auc():
    truth, scores, clusters = clustered_data(3, n_clusters=200)
    result = bootstrap_auc(truth, scores, clusters, replicates=1000, seed=9, names=list("abcd"))
    np.testing.assert_allclose(result.estimate, auc(truth, scores))
    for name in "abcd":
        interval = result.interval(name)
        assert interval.ci[0] < interval.estimate < interval.ci[1]
        assert 0.01 < interval.se < 0.2
    average = result.interval({n: 0.25 for n in "abcd"})
    assert average.estimate == pytest.approx(result.estimate.mean())


def test_degenerate_replicates_are_counted_and_left_out():
    truth = np.array([1, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.5])
    result = bootstrap_auc(truth, scores, replicates=500, seed=1)
    assert 0 < result.n_degenerate < 500  # replicates that miss the single positive
    assert result.interval("0").ci == (1.0, 1.0)


def test_bad_input():
    truth, scores, clusters = clustered_data()
    with pytest.raises(ValueError, match="one label per case"):
        bootstrap_auc(truth, scores, clusters[:-1], replicates=10, seed=0)
    with pytest.raises(ValueError, match="replicates"):
        bootstrap_auc(truth, scores, clusters, replicates=0, seed=0)
    with pytest.raises(ValueError, match="names"):
        bootstrap_auc(truth, scores, clusters, replicates=10, seed=0, names=["a"])


def test_large_clusters_use_exact_float64_path():
    """A cluster of 80 cases puts the sums beyond float32's exact integers; still exact."""
    from readerstudy.analysis import bootstrap

    rng = np.random.default_rng(4)
    clusters = np.r_[np.zeros(80, dtype=int), np.arange(1, 121)]
    truth = rng.random(clusters.size) < 0.5
    scores = rng.integers(0, 50, size=(clusters.size, 2)) / 50.0
    *_, dtype = bootstrap._cluster_pair_sums(truth, scores, clusters, 121)
    assert dtype == np.float64
    result = bootstrap_auc(truth, scores, clusters, replicates=5, seed=8)
    expected = naive_replicate_aucs(truth, scores, clusters, resample_indices(121, 5, 8))
    np.testing.assert_allclose(result.replicates, expected, rtol=0, atol=1e-12)
