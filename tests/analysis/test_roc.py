import csv

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from readerstudy.analysis.roc import auc, operating_points, roc_curve
from tests.analysis.reference_data import asah, reference_path


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400)
    truth = rng.random(n) < 0.3
    truth[:2] = [True, False]
    scores = rng.integers(0, 6, size=(n, 3)) / 5.0  # coarse scale: many ties
    scores[:, 2] = rng.normal(size=n)
    expected = [roc_auc_score(truth, scores[:, c]) for c in range(3)]
    np.testing.assert_allclose(auc(truth, scores), expected, rtol=0, atol=1e-12)
    assert abs(auc(truth, scores[:, 0]) - expected[0]) <= 1e-12


def test_auc_extremes_and_direction():
    truth = np.array([0, 0, 1, 1])
    assert auc(truth, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc(truth, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auc(truth, [1, 1, 1, 1]) == 0.5


@pytest.mark.parametrize("truth, scores, message", [
    ([1, 1, 1], [0.1, 0.2, 0.3], "both positive and negative"),
    ([0, 2, 1], [0.1, 0.2, 0.3], "only 0"),
    ([0, 1, 1], [0.1, np.nan, 0.3], "finite"),
    ([0, 1, 1], [0.1, 0.3], "3 cases"),
])
def test_auc_rejects_bad_input(truth, scores, message):
    with pytest.raises(ValueError, match=message):
        auc(truth, scores)


def test_roc_curve_area_is_auc_and_matches_sklearn():
    rng = np.random.default_rng(7)
    truth = rng.random(300) < 0.4
    scores = rng.integers(0, 10, 300).astype(float)
    curve = roc_curve(truth, scores)
    assert curve.thresholds[0] == np.inf and (curve.fpr[0], curve.tpr[0]) == (0.0, 0.0)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1.0, 1.0)
    assert abs(curve.area() - roc_auc_score(truth, scores)) < 1e-12
    from sklearn.metrics import roc_curve as sk_roc
    fpr, tpr, _ = sk_roc(truth, scores, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr)
    np.testing.assert_allclose(curve.tpr, tpr)


def test_asah_s100b_coordinates_match_published_table():
    truth, predictors = asah()
    with reference_path("asah_s100b_roc_coords_expected.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    thresholds = np.array([float(row["threshold"]) for row in table])
    points = operating_points(truth, predictors["s100b"], thresholds)
    for name in ("tp", "fp", "tn", "fn"):
        np.testing.assert_array_equal(getattr(points, name), [round(float(row[name])) for row in table])
    np.testing.assert_allclose(points.sensitivity, [float(row["sensitivity"]) for row in table], rtol=1e-15)
    np.testing.assert_allclose(points.specificity, [float(row["specificity"]) for row in table], rtol=1e-15)
    # The curve's points are the table's points (pROC puts thresholds between scores).
    curve = roc_curve(truth, predictors["s100b"])
    ours = sorted(zip(np.round(curve.fpr, 12), np.round(curve.tpr, 12), strict=False))
    published = sorted((round(1 - float(r["specificity"]), 12), round(float(r["sensitivity"]), 12)) for r in table)
    assert ours == published


def test_operating_points_threshold_is_inclusive():
    points = operating_points([0, 1, 1, 0], [0.2, 0.5, 0.7, 0.5], [0.5])
    assert (points.tp[0], points.fp[0], points.tn[0], points.fn[0]) == (2, 1, 1, 0)
    assert points.sensitivity[0] == 1.0 and points.specificity[0] == 0.5
