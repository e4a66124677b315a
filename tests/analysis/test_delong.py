import numpy as np
import pytest

from readerstudy.analysis.delong import delong_ci, delong_covariance, delong_test, structural_components
from readerstudy.analysis.roc import auc
from tests.analysis.reference_data import asah

# pROC's published values on aSAH (outcome Poor as positive).


def test_asah_aucs():
    truth, p = asah()
    assert round(auc(truth, p["s100b"]), 15) == 0.731368563685637
    assert round(auc(truth, p["ndka"]), 15) == 0.611957994579946
    assert round(auc(truth, p["wfns"]), 15) == 0.823678861788618


def test_asah_delong_intervals():
    truth, p = asah()
    s100b = delong_ci(truth, p["s100b"])
    assert (round(s100b.ci[0], 4), round(s100b.ci[1], 4)) == (0.6301, 0.8326)
    ndka = delong_ci(truth, p["ndka"])
    np.testing.assert_allclose(ndka.ci, (0.501244999271703, 0.722670989888189), rtol=0, atol=1e-14)


@pytest.mark.parametrize("other, z, pvalue", [
    ("s100b", 2.20898359144091, 0.0271757822291882),
    ("ndka", 2.79777591868904, 0.00514557970691098),
])
def test_asah_paired_tests(other, z, pvalue):
    truth, p = asah()
    result = delong_test(truth, p["wfns"], p[other])
    assert result.statistic == pytest.approx(z, abs=1e-13)
    assert result.pvalue == pytest.approx(pvalue, abs=1e-15)
    assert result.difference == pytest.approx(result.auc1 - result.auc2)


def test_structural_components_average_to_auc_and_fast_path_matches_definition():
    rng = np.random.default_rng(3)
    truth = rng.random(60) < 0.4
    scores = rng.integers(0, 4, size=60).astype(float)
    v10, v01 = structural_components(truth, scores)
    pos, neg = scores[truth], scores[~truth]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    np.testing.assert_allclose(v10[:, 0], psi.mean(axis=1))
    np.testing.assert_allclose(v01[:, 0], psi.mean(axis=0))
    assert v10.mean() == pytest.approx(auc(truth, scores))


def test_covariance_diagonal_is_variance_and_logit_interval_inside_unit():
    truth, p = asah()
    cov = delong_covariance(truth, np.column_stack([p["s100b"], p["wfns"]]))
    assert cov[0, 0] == pytest.approx(delong_ci(truth, p["s100b"]).variance)
    logit = delong_ci(truth, p["wfns"], method="logit")
    assert 0 < logit.ci[0] < logit.auc < logit.ci[1] < 1
    with pytest.raises(ValueError, match="method"):
        delong_ci(truth, p["wfns"], method="exact")
