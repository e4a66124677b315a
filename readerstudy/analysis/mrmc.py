"""Obuchowski-Rockette (1995) multi-reader multi-case analysis of empirical AUCs, in the form
unified by Hillis (Hillis et al. 2005; Hillis 2007; Hillis, Berbaum and Metz 2008), as printed
by OR-DBM MRMC 2.51 and MRMCaov.

Notation: t modalities, r readers, theta[i, j] the AUC of reader j in modality i, and the
covariance matrix of the t*r AUC estimates over cases (jackknife or DeLong), averaged into
  var_error  the mean variance of one AUC,
  cov1       the mean covariance of the same reader in different modalities,
  cov2       the mean covariance of different readers in the same modality,
  cov3       the mean covariance of different readers in different modalities.

Three analyses:
  rrrc  random readers, random cases: F = MS(T) / [MS(T*R) + r max(cov2 - cov3, 0)] with
        Hillis's ddf = [MS(T*R) + r max(cov2 - cov3, 0)]^2 / {MS(T*R)^2 / [(t-1)(r-1)]};
  frrc  fixed readers, random cases: X2 = (t-1) MS(T) / [var_error - cov1
        + (r-1) max(cov2 - cov3, 0)], chi-square with t-1 df;
  rrfc  random readers, fixed cases: F = MS(T) / MS(T*R) with df t-1, (t-1)(r-1).
Pairwise differences use the same error terms (the global ones), so with two modalities
the pairwise and global tests agree, as in OR-DBM MRMC.
"""
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

from .delong import structural_components
from .roc import check_binary_truth
from .serialize import jsonable

COVARIANCE_METHODS = ("jackknife", "delong")


# ---- covariance of AUC estimates --------------------------------------------------------------

def auc_covariance(truth, scores, method: str = "jackknife", clusters=None) -> np.ndarray:
    """Covariance (k, k) of the AUCs of the k score columns (scores of shape (n, k)).

    jackknife: leave one cluster out (one case when `clusters` is None),
      cov = (G-1)/G * sum_g (A_(g) - mean)(A_(g) - mean)'.
    delong: S10/n1 + S01/n0 from the structural components; it assumes independent cases,
      so it refuses clusters.
    """
    truth = check_binary_truth(truth)
    scores = np.asarray(scores, dtype=float).reshape(truth.size, -1)
    if method == "delong":
        if clusters is not None and np.unique(clusters).size != truth.size:
            raise ValueError(
                "DeLong covariance assumes independent cases, but cases share clusters; "
                "use the jackknife, which leaves out whole clusters"
            )
        v10, v01 = structural_components(truth, scores)
        return (np.atleast_2d(np.cov(v10, rowvar=False)) / v10.shape[0]
                + np.atleast_2d(np.cov(v01, rowvar=False)) / v01.shape[0])
    if method == "jackknife":
        pseudo = jackknife_aucs(truth, scores, clusters)
        centred = pseudo - pseudo.mean(axis=0)
        n_groups = pseudo.shape[0]
        return (n_groups - 1) / n_groups * centred.T @ centred
    raise ValueError(f"covariance must be one of {', '.join(COVARIANCE_METHODS)}, got {method!r}")


def jackknife_aucs(truth, scores, clusters=None) -> np.ndarray:
    """AUCs with each cluster left out in turn: shape (G, k).

    With P = sum of psi over all (positive, negative) pairs, leaving out cluster g removes
    its positives' rows (n1 V10 sums) and negatives' columns (n0 V01 sums) and adds back
    the pairs inside g, which were removed twice.
    """
    truth = check_binary_truth(truth)
    scores = np.asarray(scores, dtype=float).reshape(truth.size, -1)
    codes = np.arange(truth.size) if clusters is None else np.unique(clusters, return_inverse=True)[1]
    n_groups = codes.max() + 1
    v10, v01 = structural_components(truth, scores)
    n_pos, n_neg = v10.shape[0], v01.shape[0]
    total = v10.sum(axis=0) * n_neg  # sum of psi, per column
    pos_codes, neg_codes = codes[truth], codes[~truth]
    removed = np.zeros((n_groups, scores.shape[1]))
    np.add.at(removed, pos_codes, v10 * n_neg)
    np.add.at(removed, neg_codes, v01 * n_pos)
    # Pairs inside one cluster: every positive with every negative of its own cluster.
    pos_index, neg_index = np.flatnonzero(truth), np.flatnonzero(~truth)
    order = np.argsort(neg_codes, kind="stable")
    starts = np.searchsorted(neg_codes[order], pos_codes, side="left")
    stops = np.searchsorted(neg_codes[order], pos_codes, side="right")
    counts = stops - starts
    if counts.any():
        pair_pos = np.repeat(pos_index, counts)
        pair_neg = neg_index[order[np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=False)])]]
        diff = scores[pair_pos] - scores[pair_neg]
        psi = (diff > 0) + 0.5 * (diff == 0)
        np.add.at(removed, codes[pair_pos], -psi)
    left_pos = n_pos - np.bincount(pos_codes, minlength=n_groups)
    left_neg = n_neg - np.bincount(neg_codes, minlength=n_groups)
    if np.any(left_pos == 0) or np.any(left_neg == 0):
        raise ValueError("a cluster holds every positive or every negative case; "
                         "the jackknife cannot leave it out")
    return (total - removed) / (left_pos * left_neg)[:, None]


# ---- results ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VarianceComponents:
    var_error: float
    cov1: float
    cov2: float
    cov3: float
    var_reader: float  # Var(R), an ANOVA estimate that can be negative
    var_treatment_reader: float  # Var(T*R), likewise
    ms_t: float
    ms_r: float
    ms_tr: float


@dataclass(frozen=True)
class FTest:
    """An F test of equal modality AUCs (df1 = 1 for a single difference)."""
    F: float
    df1: float
    df2: float
    p: float
    se: float | None = None  # of a difference; None for a global test of t > 2 modalities
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class ChiSquareTest:
    statistic: float
    df: int
    p: float
    se: float | None = None
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class ReaderDifference:
    """Fixed-reader, single-reader comparison: DeLong/jackknife z test of one reader's AUCs."""
    difference: float
    se: float
    z: float
    p: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class Comparison:
    modalities: tuple[str, str]
    difference: float  # mean AUC of the first minus the second
    rrrc: FTest
    frrc: ChiSquareTest
    rrfc: FTest
    by_reader: dict[str, ReaderDifference]


@dataclass(frozen=True)
class ModalityEstimate:
    """A modality's reader-averaged AUC with intervals from its own data only."""
    readers: dict[str, float]
    mean_auc: float
    rrrc: dict  # se, df, ci
    frrc: dict  # se, ci
    rrfc: dict  # se, df, ci


@dataclass(frozen=True)
class MrmcResult:
    covariance: str
    level: float
    n_cases: int
    n_positive: int
    readers: tuple[str, ...]
    modalities: dict[str, ModalityEstimate]
    variance_components: VarianceComponents
    rrrc: FTest  # global tests across all modalities
    frrc: ChiSquareTest
    rrfc: FTest
    comparisons: list[Comparison]

    def to_dict(self) -> dict:
        return jsonable(self)


# ---- the analysis -----------------------------------------------------------------------------

def or_mrmc(truth, scores, modalities=None, readers=None, covariance: str = "jackknife",
            clusters=None, level: float = 0.95) -> MrmcResult:
    """Obuchowski-Rockette analysis of `scores` of shape (t modalities, r readers, n cases).

    Every reader must have read every case in every modality (a fully crossed design).
    """
    truth = check_binary_truth(truth)
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 3 or scores.shape[2] != truth.size:
        raise ValueError(f"scores must have shape (modalities, readers, {truth.size}), got {scores.shape}")
    t, r, n = scores.shape
    if t < 2:
        raise ValueError("MRMC compares modalities: at least two are needed")
    if r < 2:
        raise ValueError("MRMC needs at least two readers (random-reader analyses estimate reader variance)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    modalities = tuple(str(m) for m in (modalities or range(1, t + 1)))
    readers = tuple(str(x) for x in (readers or range(1, r + 1)))
    if len(modalities) != t or len(readers) != r:
        raise ValueError("modalities and readers must name every row of scores")

    flat = scores.reshape(t * r, n).T  # columns ordered modality-major
    v10, v01 = structural_components(truth, flat)
    theta = v10.mean(axis=0).reshape(t, r)
    cov = auc_covariance(truth, flat, covariance, clusters).reshape(t, r, t, r)
    components = _variance_components(theta, cov)
    alpha = 1.0 - level

    rrrc_den = components.ms_tr + r * max(components.cov2 - components.cov3, 0.0)
    frrc_den = components.var_error - components.cov1 + (r - 1) * max(components.cov2 - components.cov3, 0.0)
    if rrrc_den <= 0 or frrc_den <= 0 or components.ms_tr <= 0:
        raise ValueError(
            "the MRMC error terms are zero: the modalities' AUCs differ by the same amount for "
            "every reader (identical modalities?), so the tests are undefined"
        )
    ddf = rrrc_den ** 2 / (components.ms_tr ** 2 / ((t - 1) * (r - 1)))
    df_fixed_cases = (t - 1) * (r - 1)

    global_rrrc = FTest(F=components.ms_t / rrrc_den, df1=t - 1, df2=ddf,
                        p=float(stats.f.sf(components.ms_t / rrrc_den, t - 1, ddf)))
    x2 = (t - 1) * components.ms_t / frrc_den
    global_frrc = ChiSquareTest(statistic=x2, df=t - 1, p=float(stats.chi2.sf(x2, t - 1)))
    global_rrfc = FTest(F=components.ms_t / components.ms_tr, df1=t - 1, df2=df_fixed_cases,
                        p=float(stats.f.sf(components.ms_t / components.ms_tr, t - 1, df_fixed_cases)))

    comparisons = []
    for a, b in combinations(range(t), 2):
        diff = float(theta[a].mean() - theta[b].mean())
        comparisons.append(Comparison(
            modalities=(modalities[a], modalities[b]),
            difference=diff,
            rrrc=_t_difference(diff, np.sqrt(2.0 / r * rrrc_den), ddf, alpha),
            frrc=_z_difference(diff, np.sqrt(2.0 / r * frrc_den), alpha),
            rrfc=_t_difference(diff, np.sqrt(2.0 / r * components.ms_tr), df_fixed_cases, alpha),
            by_reader=_by_reader(theta, cov, a, b, readers, alpha),
        ))

    estimates = {modalities[i]: _modality_estimate(theta[i], cov[i, :, i, :], readers, alpha) for i in range(t)}
    return MrmcResult(
        covariance=covariance, level=level, n_cases=n, n_positive=int(truth.sum()), readers=readers,
        modalities=estimates, variance_components=components,
        rrrc=global_rrrc, frrc=global_frrc, rrfc=global_rrfc, comparisons=comparisons,
    )


def _variance_components(theta: np.ndarray, cov: np.ndarray) -> VarianceComponents:
    t, r = theta.shape
    same_reader = np.eye(r, dtype=bool)
    same_modality = np.eye(t, dtype=bool)
    # Masks over (i, j, i', j'): which pairs of AUC estimates each component averages.
    mod_equal = same_modality[:, None, :, None]
    read_equal = same_reader[None, :, None, :]
    var_error = cov[mod_equal & read_equal].mean()
    cov1 = cov[~mod_equal & read_equal].mean()
    cov2 = cov[mod_equal & ~read_equal].mean()
    cov3 = cov[~mod_equal & ~read_equal].mean()

    grand = theta.mean()
    by_mod = theta.mean(axis=1)
    by_reader = theta.mean(axis=0)
    ms_t = r * np.sum((by_mod - grand) ** 2) / (t - 1)
    ms_r = t * np.sum((by_reader - grand) ** 2) / (r - 1)
    ms_tr = np.sum((theta - by_mod[:, None] - by_reader[None, :] + grand) ** 2) / ((t - 1) * (r - 1))
    # OR expected mean squares solved for the reader and treatment-by-reader variances.
    var_tr = ms_tr - var_error + cov1 + cov2 - cov3
    var_r = (ms_r - var_tr - var_error - (t - 1) * cov1 + cov2 + (t - 1) * cov3) / t
    return VarianceComponents(
        var_error=float(var_error), cov1=float(cov1), cov2=float(cov2), cov3=float(cov3),
        var_reader=float(var_r), var_treatment_reader=float(var_tr),
        ms_t=float(ms_t), ms_r=float(ms_r), ms_tr=float(ms_tr),
    )


def _t_difference(diff: float, se: float, df: float, alpha: float) -> FTest:
    half = stats.t.ppf(1.0 - alpha / 2.0, df) * se
    statistic = diff / se
    return FTest(F=float(statistic ** 2), df1=1, df2=float(df), p=float(2.0 * stats.t.sf(abs(statistic), df)),
                 se=float(se), ci=(float(diff - half), float(diff + half)))


def _z_difference(diff: float, se: float, alpha: float) -> ChiSquareTest:
    half = stats.norm.ppf(1.0 - alpha / 2.0) * se
    z = diff / se
    return ChiSquareTest(statistic=float(z ** 2), df=1, p=float(2.0 * stats.norm.sf(abs(z))),
                         se=float(se), ci=(float(diff - half), float(diff + half)))


def _by_reader(theta, cov, a, b, readers, alpha) -> dict[str, ReaderDifference]:
    z_crit = stats.norm.ppf(1.0 - alpha / 2.0)
    result = {}
    for j, name in enumerate(readers):
        diff = float(theta[a, j] - theta[b, j])
        se = float(np.sqrt(max(cov[a, j, a, j] + cov[b, j, b, j] - 2.0 * cov[a, j, b, j], 0.0)))
        z = diff / se if se > 0 else float("nan")
        result[name] = ReaderDifference(
            difference=diff, se=se, z=float(z), p=float(2.0 * stats.norm.sf(abs(z))) if se > 0 else float("nan"),
            ci=(diff - z_crit * se, diff + z_crit * se),
        )
    return result


def _modality_estimate(aucs: np.ndarray, cov: np.ndarray, readers, alpha) -> ModalityEstimate:
    """Single-modality intervals (Hillis 2007): only this modality's AUCs and covariances."""
    r = aucs.size
    mean = float(aucs.mean())
    ms_r = float(np.sum((aucs - mean) ** 2) / (r - 1))
    var_error = float(np.mean(np.diag(cov)))
    cov2 = float(cov[~np.eye(r, dtype=bool)].mean())
    random_var = ms_r + r * max(cov2, 0.0)
    df_h = random_var ** 2 / (ms_r ** 2 / (r - 1)) if ms_r > 0 else float("inf")
    se_rrrc = np.sqrt(random_var / r)
    se_frrc = np.sqrt((var_error + (r - 1) * max(cov2, 0.0)) / r)
    se_rrfc = np.sqrt(ms_r / r)
    z = stats.norm.ppf(1.0 - alpha / 2.0)

    def t_interval(se, df):
        half = stats.t.ppf(1.0 - alpha / 2.0, df) * se
        return {"se": float(se), "df": float(df), "ci": (mean - half, mean + half)}

    return ModalityEstimate(
        readers={name: float(value) for name, value in zip(readers, aucs, strict=False)},
        mean_auc=mean,
        rrrc=t_interval(se_rrrc, df_h),
        frrc={"se": float(se_frrc), "ci": (mean - z * se_frrc, mean + z * se_frrc)},
        rrfc=t_interval(se_rrfc, r - 1),
    )


def mrmc_from_ratings(ratings, modalities=None, covariance: str = "jackknife", level: float = 0.95) -> MrmcResult:
    """OR analysis of a Ratings table. `modalities`: the names to compare (default: all);
    they must share the same readers. Clusters (cluster_id) are left out together by the
    jackknife; DeLong covariance refuses clustered cases."""
    from .ratings import RatingsError

    names = list(modalities) if modalities else list(ratings.modalities)
    if len(set(names)) != len(names):
        raise RatingsError(f"each modality may be named once: {', '.join(names)}")
    chosen = [ratings.modality(name) for name in names]
    readers = chosen[0].readers
    for name, data in zip(names, chosen, strict=False):
        if set(data.readers) != set(readers):
            raise RatingsError(
                f"MRMC needs the same readers in every modality: {names[0]!r} has "
                f"{', '.join(readers)} but {name!r} has {', '.join(data.readers)}"
            )
    scores = np.stack([data.scores[[data.readers.index(x) for x in readers]] for data in chosen])
    clusters = None
    if ratings.cluster_ids is not None and len(set(ratings.cluster_ids)) < ratings.n_cases:
        clusters = ratings.clusters()
        if covariance == "delong":
            raise RatingsError(
                "DeLong covariance assumes independent cases, but the input's cluster_id groups "
                "cases; use --covariance jackknife (it leaves out whole clusters)"
            )
    return or_mrmc(ratings.truth, scores, modalities=names, readers=readers,
                   covariance=covariance, clusters=clusters, level=level)
