"""Obuchowski-Rockette MRMC against published results.

Van Dyke: the reference README's values (OR-DBM MRMC 2.51 with jackknife covariance; MRMCaov
with DeLong covariance) and the rest of the OR-DBM MRMC 2.51 output shipped with RJafroc
(`inst/IowaResults/VanDyke.txt`: variance components, fixed-reader and fixed-case analyses,
single-modality and single-reader intervals), each to its printed precision.
"""
import numpy as np
import pytest
from scipy import stats

from readerstudy.analysis.delong import delong_test
from readerstudy.analysis.mrmc import auc_covariance, jackknife_aucs, mrmc_from_ratings, or_mrmc
from readerstudy.analysis.ratings import RatingsError
from readerstudy.analysis.roc import auc
from tests.analysis.reference_data import franken, vandyke


@pytest.fixture(scope="module")
def jackknife():
    return mrmc_from_ratings(vandyke(), covariance="jackknife")


@pytest.fixture(scope="module")
def delong():
    return mrmc_from_ratings(vandyke(), covariance="delong")


def test_vandyke_reader_averaged_aucs(jackknife):
    assert round(jackknife.modalities["1"].mean_auc, 8) == 0.89703704
    assert round(jackknife.modalities["2"].mean_auc, 8) == 0.94083736
    readers_1 = [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066]
    assert [round(v, 8) for v in jackknife.modalities["1"].readers.values()] == readers_1


def test_vandyke_rrrc_jackknife(jackknife):
    (comparison,) = jackknife.comparisons
    assert comparison.modalities == ("1", "2")
    assert round(comparison.difference, 8) == -0.04380032
    assert round(comparison.rrrc.F, 2) == 4.46
    assert round(comparison.rrrc.df2, 2) == 15.26
    assert round(comparison.rrrc.p, 4) == 0.0517
    assert round(comparison.rrrc.se, 5) == 0.02075
    assert tuple(round(x, 5) for x in comparison.rrrc.ci) == (-0.08796, 0.00036)
    assert jackknife.rrrc.F == pytest.approx(comparison.rrrc.F)  # two modalities: global = pairwise


def test_vandyke_rrrc_delong(delong):
    (comparison,) = delong.comparisons
    assert round(comparison.rrrc.F, 6) == 4.484854
    assert round(comparison.rrrc.df2, 5) == 15.06611
    assert round(comparison.rrrc.p, 8) == 0.05123303
    assert round(comparison.rrrc.ci[0], 7) == -0.0878672
    assert round(comparison.rrrc.ci[1], 7) == 0.0002666


def test_vandyke_variance_components_jackknife(jackknife):
    vc = jackknife.variance_components
    assert [round(x, 8) for x in (vc.var_error, vc.cov1, vc.cov2, vc.cov3)] == [
        0.00080229, 0.00034661, 0.00034407, 0.00023903]
    assert [round(x, 8) for x in (vc.var_reader, vc.var_treatment_reader)] == [0.00153500, 0.00020040]
    assert [round(x, 8) for x in (vc.ms_t, vc.ms_r, vc.ms_tr)] == [0.00479617, 0.00383620, 0.00055103]


def test_vandyke_fixed_readers_and_fixed_cases(jackknife):
    (comparison,) = jackknife.comparisons
    assert round(comparison.frrc.statistic, 5) == 5.47595
    assert comparison.frrc.df == 1 and round(comparison.frrc.p, 4) == 0.0193
    assert round(comparison.frrc.se, 5) == 0.01872
    assert tuple(round(x, 5) for x in comparison.frrc.ci) == (-0.08049, -0.00711)
    assert round(comparison.rrfc.F, 2) == 8.70 and comparison.rrfc.df2 == 4
    assert round(comparison.rrfc.p, 4) == 0.0420
    assert round(comparison.rrfc.se, 5) == 0.01485
    assert tuple(round(x, 5) for x in comparison.rrfc.ci) == (-0.08502, -0.00258)
    reader5 = comparison.by_reader["5"]
    assert (round(reader5.difference, 5), round(reader5.se, 5), round(reader5.p, 4)) == (-0.10016, 0.04406, 0.0230)
    assert tuple(round(x, 5) for x in reader5.ci) == (-0.18651, -0.01381)


def test_vandyke_single_modality_intervals(jackknife):
    m1, m2 = jackknife.modalities["1"], jackknife.modalities["2"]
    assert (round(m1.rrrc["se"], 8), round(m1.rrrc["df"], 2)) == (0.03317360, 12.74)
    assert tuple(round(x, 8) for x in m1.rrrc["ci"]) == (0.82522360, 0.96885048)
    assert tuple(round(x, 8) for x in m2.rrrc["ci"]) == (0.89413783, 0.98753689)
    assert tuple(round(x, 8) for x in m1.frrc["ci"]) == (0.84943008, 0.94464399)
    assert tuple(round(x, 8) for x in m2.frrc["ci"]) == (0.90795637, 0.97371835)
    assert tuple(round(x, 8) for x in m1.rrfc["ci"]) == (0.82809808, 0.96597599)
    assert tuple(round(x, 8) for x in m2.rrfc["ci"]) == (0.89598936, 0.98568536)


def test_fixed_readers_chi_square_is_the_wald_test_of_the_mean_difference(delong):
    """Hand-derived: with cov2 >= cov3, (2/r)[var - cov1 + (r-1)(cov2 - cov3)] is exactly
    w' S w for w = (1/r, ..., -1/r, ...), so X2(1) = d^2 / (w' S w) = z^2."""
    ratings = vandyke()
    data = ratings.modalities
    scores = np.vstack([data["1"].scores, data["2"].scores]).T
    cov = auc_covariance(ratings.truth, scores, "delong")
    w = np.r_[np.full(5, 0.2), np.full(5, -0.2)]
    d = w @ auc(ratings.truth, scores)
    (comparison,) = delong.comparisons
    assert comparison.frrc.statistic == pytest.approx(d ** 2 / (w @ cov @ w), rel=1e-12)
    assert comparison.frrc.se == pytest.approx(np.sqrt(w @ cov @ w), rel=1e-12)


def test_single_reader_comparison_with_delong_covariance_is_the_delong_paired_test(delong):
    ratings = vandyke()
    for j, reader in enumerate(delong.readers):
        paired = delong_test(ratings.truth, ratings.modalities["1"].scores[j], ratings.modalities["2"].scores[j])
        assert delong.comparisons[0].by_reader[reader].z == pytest.approx(paired.statistic, rel=1e-12)


def test_fixed_cases_is_the_paired_t_test_of_reader_aucs(jackknife):
    """Textbook identity: with two modalities, RRFC F = t^2 of the paired t test of the AUCs."""
    a = np.array(list(jackknife.modalities["1"].readers.values()))
    b = np.array(list(jackknife.modalities["2"].readers.values()))
    paired = stats.ttest_rel(a, b)
    (comparison,) = jackknife.comparisons
    assert comparison.rrfc.F == pytest.approx(paired.statistic ** 2, rel=1e-12)
    assert comparison.rrfc.p == pytest.approx(paired.pvalue, rel=1e-10)


def test_franken_jackknife_and_delong_agree():
    """Smoke and consistency check on Franken et al. (no published OR output used here)."""
    jk = mrmc_from_ratings(franken(), covariance="jackknife")
    dl = mrmc_from_ratings(franken(), covariance="delong")
    assert jk.modalities["TREAT1"].mean_auc == dl.modalities["TREAT1"].mean_auc
    (a,), (b,) = jk.comparisons, dl.comparisons
    # Here cov2 < cov3, so max(cov2 - cov3, 0) = 0 and the random-reader test is the
    # fixed-case one whichever covariance is used.
    assert jk.variance_components.cov2 < jk.variance_components.cov3
    assert a.rrrc.F == pytest.approx(a.rrfc.F) and a.rrrc.df2 == pytest.approx(3.0)
    # The fixed-reader test uses var_error and cov1, which differ by the jackknife's
    # small-sample inflation only.
    assert a.frrc.statistic == pytest.approx(b.frrc.statistic, rel=0.05)
    assert jk.variance_components.var_error == pytest.approx(dl.variance_components.var_error, rel=0.05)
    assert jk.variance_components.cov1 == pytest.approx(dl.variance_components.cov1, rel=0.05)


def test_clustered_jackknife_equals_leaving_each_cluster_out():
    rng = np.random.default_rng(11)
    n = 40
    clusters = rng.integers(0, 15, n)
    truth = rng.random(n) < 0.4
    truth[:2] = [True, False]
    scores = rng.integers(0, 5, size=(n, 2)).astype(float)
    fast = jackknife_aucs(truth, scores, clusters)
    labels = np.unique(clusters)
    slow = np.array([auc(truth[clusters != g], scores[clusters != g]) for g in labels])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-13)


def test_three_modalities_give_all_pairs():
    rng = np.random.default_rng(5)
    truth = rng.random(80) < 0.5
    signal = truth * 1.0
    scores = np.stack([signal * shift + rng.normal(size=(4, 80)) for shift in (0.5, 1.0, 1.5)])
    result = or_mrmc(truth, scores, modalities=["a", "b", "c"])
    assert [c.modalities for c in result.comparisons] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert result.rrrc.df1 == 2 and result.frrc.df == 2 and result.rrfc.df2 == 6
    means = {m: e.mean_auc for m, e in result.modalities.items()}
    assert result.comparisons[1].difference == pytest.approx(means["a"] - means["c"])


def test_mrmc_input_errors():
    ratings = vandyke()
    with pytest.raises(RatingsError, match="no modality 'x'"):
        mrmc_from_ratings(ratings, modalities=["1", "x"])
    with pytest.raises(ValueError, match="covariance must be"):
        mrmc_from_ratings(ratings, covariance="bootstrap")
    with pytest.raises(ValueError, match="at least two"):
        or_mrmc(ratings.truth, ratings.modalities["1"].scores[None])


def test_identical_modalities_are_refused():
    ratings = vandyke()
    scores = np.stack([ratings.modalities["1"].scores] * 2)
    with pytest.raises(ValueError, match="error terms are zero"):
        or_mrmc(ratings.truth, scores)
