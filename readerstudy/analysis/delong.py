"""DeLong, DeLong and Clarke-Pearson (1988): variance of empirical AUCs, intervals and the
paired test for correlated AUCs.

The structural components are computed with midranks in O(n log n) (Sun and Xu 2014):
for positive case i, V10_i = (rank of x_i among all cases - rank among positives) / n0,
the fraction of negatives it outscores (ties one half); for negative case j,
V01_j = 1 - (rank among all - rank among negatives) / n1.
"""
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats import rankdata

from .roc import check_binary_truth, check_scores


def structural_components(truth, scores) -> tuple[np.ndarray, np.ndarray]:
    """(V10 of shape (n1, k), V01 of shape (n0, k)); each column's means equal its AUC."""
    truth = check_binary_truth(truth)
    scores = check_scores(scores, truth.size)
    scores2d = scores.reshape(truth.size, -1)
    pos, neg = scores2d[truth], scores2d[~truth]
    n_pos, n_neg = pos.shape[0], neg.shape[0]
    rank_all = rankdata(scores2d, axis=0)
    v10 = (rank_all[truth] - rankdata(pos, axis=0)) / n_neg
    v01 = 1.0 - (rank_all[~truth] - rankdata(neg, axis=0)) / n_pos
    return v10, v01


def delong_covariance(truth, scores) -> np.ndarray:
    """Covariance matrix (k, k) of the k AUCs in the columns of `scores`: S10/n1 + S01/n0."""
    v10, v01 = structural_components(truth, scores)
    s10 = np.atleast_2d(np.cov(v10, rowvar=False, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, rowvar=False, ddof=1))
    return s10 / v10.shape[0] + s01 / v01.shape[0]


@dataclass(frozen=True)
class AucInterval:
    auc: float
    variance: float
    se: float
    ci: tuple[float, float]
    level: float
    method: str


def delong_ci(truth, scores, level: float = 0.95, method: str = "normal") -> AucInterval:
    """Confidence interval of one AUC from the DeLong variance.

    method "normal": AUC +- z * SE clipped to [0, 1] (pROC's ci.auc with method "delong");
    method "logit": the interval built on logit(AUC) with the delta method, which stays
    inside (0, 1) and is better behaved for AUCs near 1.
    """
    _check_level(level)
    v10, v01 = structural_components(truth, scores)
    if v10.shape[1] != 1:
        raise ValueError("delong_ci takes one score column")
    value = float(v10.mean())
    variance = float(v10.var(ddof=1) / v10.shape[0] + v01.var(ddof=1) / v01.shape[0])
    se = float(np.sqrt(variance))
    z = stats.norm.ppf(0.5 + level / 2.0)
    if method == "normal":
        ci = (float(max(0.0, value - z * se)), float(min(1.0, value + z * se)))
    elif method == "logit":
        if value in (0.0, 1.0):
            raise ValueError("the logit interval is undefined for an AUC of exactly 0 or 1")
        centre = np.log(value / (1.0 - value))
        half = z * se / (value * (1.0 - value))
        ci = (float(1.0 / (1.0 + np.exp(-(centre - half)))), float(1.0 / (1.0 + np.exp(-(centre + half)))))
    else:
        raise ValueError(f"method must be 'normal' or 'logit', got {method!r}")
    return AucInterval(auc=value, variance=variance, se=se, ci=ci, level=level, method=method)


@dataclass(frozen=True)
class PairedTest:
    """DeLong test of AUC1 = AUC2 for two scores on the same cases (difference = AUC1 - AUC2)."""
    auc1: float
    auc2: float
    difference: float
    se: float
    statistic: float
    pvalue: float
    ci: tuple[float, float]
    level: float


def delong_test(truth, scores1, scores2, level: float = 0.95) -> PairedTest:
    _check_level(level)
    truth = check_binary_truth(truth)
    both = np.column_stack([check_scores(scores1, truth.size), check_scores(scores2, truth.size)])
    v10, v01 = structural_components(truth, both)
    cov = np.cov(v10, rowvar=False) / v10.shape[0] + np.cov(v01, rowvar=False) / v01.shape[0]
    auc1, auc2 = v10.mean(axis=0)
    difference = float(auc1 - auc2)
    variance = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    if variance <= 0:
        raise ValueError("the two scores give AUCs with zero variance of their difference "
                         "(identical rankings?); the test is undefined")
    se = float(np.sqrt(variance))
    statistic = difference / se
    z = stats.norm.ppf(0.5 + level / 2.0)
    return PairedTest(
        auc1=float(auc1), auc2=float(auc2), difference=difference, se=se,
        statistic=float(statistic), pvalue=float(2.0 * stats.norm.sf(abs(statistic))),
        ci=(float(difference - z * se), float(difference + z * se)), level=level,
    )


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
