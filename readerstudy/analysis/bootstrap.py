"""Paired cluster bootstrap of empirical AUCs.

Each replicate draws G clusters (exams) with replacement from the G clusters of the study;
every case of a drawn cluster enters the replicate as often as its cluster was drawn, and the
same draw serves every score column (readers, model, hybrids): the replicates are paired, so
intervals of differences come from the same replicates as the AUCs.

Vectorised: a replicate is a vector of cluster multiplicities w (B x G). For a score column,
let C[g, h] = sum over positive cases in g and negative cases in h of psi (1 if the positive
outscores the negative, 1/2 for a tie). Then the replicate's AUC is
    w_pos' C w_neg / (total positive weight * total negative weight),
so all replicates of all columns come from one matrix product per block of replicates,
(B x G_pos) @ (G_pos x k G). Only clusters holding a positive case enter G_pos.
"""
from dataclasses import dataclass

import numpy as np

from .roc import auc as empirical_auc
from .roc import check_binary_truth, check_scores

DEFAULT_REPLICATES = 10_000
BLOCK = 500  # replicates per random stream and per matrix product; part of the seed's meaning
_FLOAT32_EXACT = 2 ** 24  # integers below this are exact in float32


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval and standard error."""
    estimate: float
    ci: tuple[float, float]
    se: float


@dataclass(frozen=True)
class BootstrapResult:
    names: tuple[str, ...]
    estimate: np.ndarray  # (k,) AUCs on the original data
    replicates: np.ndarray  # (B, k) AUCs of each replicate; NaN where a replicate lacks a class
    seed: int
    level: float = 0.95

    @property
    def n_replicates(self) -> int:
        return self.replicates.shape[0]

    @property
    def n_degenerate(self) -> int:
        """Replicates without a positive or without a negative case (left out of intervals)."""
        return int(np.isnan(self.replicates[:, 0]).sum())

    def interval(self, weights) -> Interval:
        """Interval of a linear combination of the columns, e.g. a difference or an average.

        `weights`: a column name, or a dict {name: weight}, or an array of k weights.
        """
        w = self._weights(weights)
        values = self.replicates @ w
        return percentile_interval(float(self.estimate @ w), values, self.level)

    def _weights(self, weights) -> np.ndarray:
        if isinstance(weights, str):
            weights = {weights: 1.0}
        if isinstance(weights, dict):
            w = np.zeros(len(self.names))
            for name, value in weights.items():
                if name not in self.names:
                    raise KeyError(f"no column {name!r}; columns: {', '.join(self.names)}")
                w[self.names.index(name)] += value
            return w
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(self.names),):
            raise ValueError(f"weights must have {len(self.names)} entries")
        return w


def percentile_interval(estimate: float, values: np.ndarray, level: float = 0.95) -> Interval:
    """Percentile interval (linear interpolation between order statistics) of finite values."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError("fewer than two usable bootstrap replicates")
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return Interval(estimate=estimate, ci=(float(low), float(high)), se=float(values.std(ddof=1)))


def resample_blocks(n_clusters: int, replicates: int, seed: int):
    """Yield the drawn cluster indices, one (b, G) block of replicates at a time.

    Block i comes from its own stream spawned from the seed, so the draw for a given seed
    does not depend on how the caller processes blocks.
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    n_blocks = -(-replicates // BLOCK)
    streams = np.random.SeedSequence(seed).spawn(n_blocks)
    for i, stream in enumerate(streams):
        size = min(BLOCK, replicates - i * BLOCK)
        yield np.random.default_rng(stream).integers(0, n_clusters, size=(size, n_clusters))


def resample_indices(n_clusters: int, replicates: int, seed: int) -> np.ndarray:
    """All drawn cluster indices (B, G): the replicates `bootstrap_auc` uses for this seed."""
    return np.concatenate(list(resample_blocks(n_clusters, replicates, seed)))


def new_seed() -> int:
    """A fresh seed from the OS entropy, small enough to write down and type back."""
    return int(np.random.SeedSequence().entropy % (2 ** 63))


def bootstrap_auc(truth, scores, clusters=None, replicates: int = DEFAULT_REPLICATES,
                  seed: int | None = None, names=None, level: float = 0.95) -> BootstrapResult:
    """Paired cluster bootstrap of the AUCs of every column of `scores` (n cases, k columns).

    `clusters`: a label per case; cases with the same label are drawn together (None: each
    case alone). `seed`: recorded in the result; None draws one.
    """
    truth = check_binary_truth(truth)
    scores = check_scores(scores, truth.size).reshape(truth.size, -1)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    k = scores.shape[1]
    names = tuple(str(n) for n in names) if names is not None else tuple(str(i) for i in range(k))
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} score columns")
    seed = new_seed() if seed is None else int(seed)
    codes = np.arange(truth.size) if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1]
    if codes.shape != truth.shape:
        raise ValueError("clusters must give one label per case")
    n_clusters = int(codes.max()) + 1

    pair_sums, pos_clusters, pos_count, neg_count, dtype = _cluster_pair_sums(truth, scores, codes, n_clusters)
    out = np.empty((replicates, k))
    start = 0
    for indices in resample_blocks(n_clusters, replicates, seed):
        counts = _counts(indices, n_clusters)
        stop = start + counts.shape[0]
        out[start:stop] = _replicate_aucs(counts.astype(dtype), pair_sums, pos_clusters, pos_count, neg_count)
        start = stop
    return BootstrapResult(names=names, estimate=np.atleast_1d(empirical_auc(truth, scores)),
                           replicates=out, seed=seed, level=level)


def _counts(indices: np.ndarray, n_clusters: int) -> np.ndarray:
    """How often each cluster was drawn in each replicate: (b, G)."""
    b = indices.shape[0]
    offsets = indices + (np.arange(b) * n_clusters)[:, None]
    return np.bincount(offsets.ravel(), minlength=b * n_clusters).reshape(b, n_clusters)


def _cluster_pair_sums(truth, scores, codes, n_clusters):
    """C (G_pos, k*G): twice the psi sums between the positives of cluster g (rows: only
    clusters with a positive) and the negatives of cluster h, for each column.

    Twice psi is an integer, so sums are exact; float32 is used when every sum the
    bootstrap can form stays below 2**24, where float32 integers are exact.
    """
    pos_codes, neg_codes = codes[truth], codes[~truth]
    # Sort each class by cluster so that a cluster's cases are one run, summed by reduceat.
    pos_order = np.argsort(pos_codes, kind="stable")
    neg_order = np.argsort(neg_codes, kind="stable")
    pos_clusters, pos_starts = np.unique(pos_codes[pos_order], return_index=True)
    neg_clusters, neg_starts = np.unique(neg_codes[neg_order], return_index=True)
    pos_count = np.bincount(pos_codes, minlength=n_clusters).astype(float)
    neg_count = np.bincount(neg_codes, minlength=n_clusters).astype(float)
    pos_scores = scores[truth][pos_order]
    neg_scores = scores[~truth][neg_order]

    k = scores.shape[1]
    sums = np.zeros((pos_clusters.size, k, n_clusters))
    for c in range(k):
        diff = pos_scores[:, c][:, None] - neg_scores[:, c][None, :]
        twice_psi = 2.0 * (diff > 0) + (diff == 0)
        by_pos = np.add.reduceat(twice_psi, pos_starts, axis=0)
        sums[:, c, neg_clusters] = np.add.reduceat(by_pos, neg_starts, axis=1)
    bound = 2.0 * (n_clusters * pos_count.max()) * (n_clusters * neg_count.max())
    dtype = np.float32 if bound < _FLOAT32_EXACT else np.float64
    return sums.reshape(pos_clusters.size, k * n_clusters).astype(dtype), pos_clusters, pos_count, neg_count, dtype


def _replicate_aucs(counts, pair_sums, pos_clusters, pos_count, neg_count) -> np.ndarray:
    b, n_clusters = counts.shape
    k = pair_sums.shape[1] // n_clusters
    weighted = (counts[:, pos_clusters] @ pair_sums).reshape(b, k, n_clusters)
    numerator = np.einsum("bkg,bg->bk", weighted, counts).astype(np.float64)
    n_pos = counts.astype(np.float64) @ pos_count
    n_neg = counts.astype(np.float64) @ neg_count
    with np.errstate(invalid="ignore", divide="ignore"):
        aucs = numerator / (2.0 * n_pos * n_neg)[:, None]
    aucs[(n_pos == 0) | (n_neg == 0)] = np.nan
    return aucs
