"""Empirical ROC analysis: the Mann-Whitney AUC, ROC points, sensitivity and specificity.

Convention throughout: a higher score means "more likely positive", and a case is called
positive at threshold t when its score is >= t. Ties between a positive and a negative count
one half in the AUC, which makes it equal to the trapezoidal area under the empirical ROC
curve (and to sklearn.metrics.roc_auc_score).
"""
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def check_binary_truth(truth) -> np.ndarray:
    """Truth as a boolean array; it must be 0/1 (or bool) and hold both classes."""
    truth = np.asarray(truth)
    if truth.ndim != 1:
        raise ValueError(f"truth must be one-dimensional, got shape {truth.shape}")
    if truth.dtype != bool:
        if not np.all(np.isin(truth, (0, 1))):
            raise ValueError("truth must contain only 0 (negative) and 1 (positive)")
        truth = truth.astype(bool)
    n_pos = int(truth.sum())
    if n_pos == 0 or n_pos == truth.size:
        raise ValueError(
            f"truth needs both positive and negative cases (got {n_pos} positive of {truth.size})"
        )
    return truth


def check_scores(scores, n_cases: int) -> np.ndarray:
    """Scores as float, cases along axis 0 (shape (n,) or (n, k)); all finite."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim not in (1, 2) or scores.shape[0] != n_cases:
        raise ValueError(f"scores must have {n_cases} cases along axis 0, got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite numbers (found NaN or infinity)")
    return scores


def auc(truth, scores):
    """Empirical AUC via midranks: (sum of positive ranks - n1(n1+1)/2) / (n1 n0).

    `scores` of shape (n,) gives a float; shape (n, k) gives k AUCs, one per column.
    """
    truth = check_binary_truth(truth)
    scores = check_scores(scores, truth.size)
    ranks = rankdata(scores, axis=0)
    n_pos = truth.sum()
    n_neg = truth.size - n_pos
    result = (ranks[truth].sum(axis=0) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return float(result) if np.ndim(result) == 0 else result


@dataclass(frozen=True)
class RocCurve:
    """The empirical ROC curve: one point per distinct threshold, from (0, 0) to (1, 1).

    `thresholds[0]` is +inf (nothing called positive); point i calls positive every case
    with score >= thresholds[i].
    """
    thresholds: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray

    @property
    def sensitivity(self) -> np.ndarray:
        return self.tpr

    @property
    def specificity(self) -> np.ndarray:
        return 1.0 - self.fpr

    def area(self) -> float:
        """Trapezoidal area; equals `auc` of the same data."""
        return float(np.sum(np.diff(self.fpr) * (self.tpr[1:] + self.tpr[:-1]) / 2.0))


def roc_curve(truth, scores) -> RocCurve:
    truth = check_binary_truth(truth)
    scores = check_scores(scores, truth.size)
    if scores.ndim != 1:
        raise ValueError("roc_curve takes one score column")
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    sorted_truth = truth[order]
    # The last case of each run of equal scores closes one threshold.
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    tp = np.cumsum(sorted_truth)[last_of_run]
    fp = np.cumsum(~sorted_truth)[last_of_run]
    n_pos = truth.sum()
    n_neg = truth.size - n_pos
    return RocCurve(
        thresholds=np.r_[np.inf, sorted_scores[last_of_run]],
        fpr=np.r_[0.0, fp / n_neg],
        tpr=np.r_[0.0, tp / n_pos],
    )


@dataclass(frozen=True)
class OperatingPoints:
    """Confusion counts and rates at given thresholds (positive when score >= threshold)."""
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray

    @property
    def sensitivity(self) -> np.ndarray:
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> np.ndarray:
        return self.tn / (self.tn + self.fp)


def operating_points(truth, scores, thresholds) -> OperatingPoints:
    """Sensitivity and specificity of `scores` at each threshold (vectorised)."""
    truth = check_binary_truth(truth)
    scores = check_scores(scores, truth.size)
    if scores.ndim != 1:
        raise ValueError("operating_points takes one score column")
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if np.any(np.isnan(thresholds)):
        raise ValueError("thresholds must not be NaN")
    pos = np.sort(scores[truth])
    neg = np.sort(scores[~truth])
    # Cases below the threshold are called negative.
    fn = np.searchsorted(pos, thresholds, side="left")
    tn = np.searchsorted(neg, thresholds, side="left")
    return OperatingPoints(
        thresholds=thresholds, tp=pos.size - fn, fp=neg.size - tn, tn=tn, fn=fn
    )
