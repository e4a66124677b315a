"""Reader + model hybrids: score = lam * reader + (1 - lam) * model (Wu et al. 2019).

lam = 1 is the reader alone, lam = 0 the model alone, lam = 0.5 the paper's average. Both
scores must be on the same scale (probabilities on [0, 1]) for the mix to mean anything.
"""
from dataclasses import dataclass

import numpy as np

from .roc import auc, check_binary_truth, check_scores

DEFAULT_LAM = 0.5
DEFAULT_SWEEP = np.round(np.linspace(0.0, 1.0, 21), 10)


def check_lam(lam: float) -> float:
    lam = float(lam)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {lam}")
    return lam


def hybrid_scores(reader_scores, model_scores, lam: float = DEFAULT_LAM) -> np.ndarray:
    """Hybrid scores; `reader_scores` (n,) or (r, n) against `model_scores` (n,)."""
    lam = check_lam(lam)
    reader_scores = np.asarray(reader_scores, dtype=float)
    model_scores = np.asarray(model_scores, dtype=float)
    if reader_scores.shape[-1] != model_scores.shape[-1] or model_scores.ndim != 1:
        raise ValueError("reader and model scores must cover the same cases")
    return lam * reader_scores + (1.0 - lam) * model_scores


@dataclass(frozen=True)
class LamSweep:
    lams: np.ndarray  # (L,)
    aucs: np.ndarray  # (L, r): each reader's hybrid AUC at each lam
    readers: tuple[str, ...]

    @property
    def mean_auc(self) -> np.ndarray:
        """Reader-averaged hybrid AUC at each lam."""
        return self.aucs.mean(axis=1)

    def best(self) -> tuple[float, float]:
        """(lam, reader-averaged AUC) of the highest reader-averaged AUC on the grid."""
        i = int(np.argmax(self.mean_auc))
        return float(self.lams[i]), float(self.mean_auc[i])


def lam_sweep(truth, reader_scores, model_scores, lams=DEFAULT_SWEEP, readers=None) -> LamSweep:
    """Hybrid AUC of every reader at every lam of the grid."""
    truth = check_binary_truth(truth)
    reader_scores = np.atleast_2d(np.asarray(reader_scores, dtype=float))
    model_scores = check_scores(model_scores, truth.size)
    lams = np.array([check_lam(x) for x in np.atleast_1d(lams)])
    columns = [hybrid_scores(reader_scores, model_scores, lam).T for lam in lams]
    aucs = np.atleast_1d(auc(truth, np.hstack(columns))).reshape(lams.size, reader_scores.shape[0])
    names = tuple(readers) if readers is not None else tuple(str(i + 1) for i in range(reader_scores.shape[0]))
    return LamSweep(lams=lams, aucs=aucs, readers=names)
