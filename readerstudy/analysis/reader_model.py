"""Readers against the model and the reader + model hybrids, with paired bootstrap intervals.

One bootstrap over 2r + 1 columns (r readers, the model, r hybrids) gives every interval:
each AUC, the reader and hybrid averages, and the differences model - reader average,
hybrid average - reader average, hybrid - reader and model - reader, all from the same
replicates.
"""
from dataclasses import dataclass

import numpy as np

from .bootstrap import DEFAULT_REPLICATES, BootstrapResult, Interval, bootstrap_auc
from .hybrid import DEFAULT_LAM, check_lam, hybrid_scores
from .ratings import Ratings, RatingsError
from .serialize import jsonable


@dataclass(frozen=True)
class ReaderModelResult:
    reader_modality: str
    model_modality: str
    lam: float
    readers: dict[str, Interval]
    model: Interval
    hybrids: dict[str, Interval]
    reader_average: Interval
    hybrid_average: Interval
    model_minus_reader_average: Interval
    hybrid_average_minus_reader_average: Interval
    hybrid_minus_reader: dict[str, Interval]
    model_minus_reader: dict[str, Interval]
    bootstrap: BootstrapResult
    n_cases: int
    n_positive: int
    n_clusters: int

    def to_dict(self) -> dict:
        def iv(interval: Interval) -> dict:
            return {"auc": interval.estimate, "ci": list(interval.ci), "se": interval.se}

        def diff(interval: Interval) -> dict:
            return {"difference": interval.estimate, "ci": list(interval.ci), "se": interval.se}

        return jsonable({
            "reader_modality": self.reader_modality,
            "model_modality": self.model_modality,
            "lam": self.lam,
            "seed": self.bootstrap.seed,
            "replicates": self.bootstrap.n_replicates,
            "degenerate_replicates": self.bootstrap.n_degenerate,
            "level": self.bootstrap.level,
            "interval": "percentile",
            "n_cases": self.n_cases,
            "n_positive": self.n_positive,
            "n_clusters": self.n_clusters,
            "readers": {name: iv(v) for name, v in self.readers.items()},
            "model": iv(self.model),
            "hybrids": {name: iv(v) for name, v in self.hybrids.items()},
            "reader_average": iv(self.reader_average),
            "hybrid_average": iv(self.hybrid_average),
            "differences": {
                "model_minus_reader_average": diff(self.model_minus_reader_average),
                "hybrid_average_minus_reader_average": diff(self.hybrid_average_minus_reader_average),
                "hybrid_minus_reader": {name: diff(v) for name, v in self.hybrid_minus_reader.items()},
                "model_minus_reader": {name: diff(v) for name, v in self.model_minus_reader.items()},
            },
        })


def compare_readers_model(truth, reader_scores, model_scores, readers=None, clusters=None,
                          lam: float = DEFAULT_LAM, replicates: int = DEFAULT_REPLICATES,
                          seed: int | None = None, level: float = 0.95,
                          reader_modality: str = "readers", model_modality: str = "model") -> ReaderModelResult:
    """`reader_scores` (r, n), `model_scores` (n,), on the same [0, 1] scale for the hybrids."""
    lam = check_lam(lam)
    reader_scores = np.atleast_2d(np.asarray(reader_scores, dtype=float))
    model_scores = np.asarray(model_scores, dtype=float)
    r = reader_scores.shape[0]
    readers = tuple(str(x) for x in readers) if readers is not None else tuple(str(i + 1) for i in range(r))
    if len(readers) != r:
        raise ValueError(f"{len(readers)} reader names for {r} rows of reader scores")
    reader_cols = [f"reader:{x}" for x in readers]
    hybrid_cols = [f"hybrid:{x}" for x in readers]
    names = reader_cols + ["model"] + hybrid_cols
    columns = np.column_stack([reader_scores.T, model_scores, hybrid_scores(reader_scores, model_scores, lam).T])
    boot = bootstrap_auc(truth, columns, clusters=clusters, replicates=replicates, seed=seed,
                         names=names, level=level)

    reader_mean = {c: 1.0 / r for c in reader_cols}
    hybrid_mean = {c: 1.0 / r for c in hybrid_cols}
    truth_array = np.asarray(truth).astype(bool)
    return ReaderModelResult(
        reader_modality=reader_modality, model_modality=model_modality, lam=lam,
        readers={x: boot.interval(c) for x, c in zip(readers, reader_cols, strict=False)},
        model=boot.interval("model"),
        hybrids={x: boot.interval(c) for x, c in zip(readers, hybrid_cols, strict=False)},
        reader_average=boot.interval(reader_mean),
        hybrid_average=boot.interval(hybrid_mean),
        model_minus_reader_average=boot.interval({"model": 1.0, **{c: -1.0 / r for c in reader_cols}}),
        hybrid_average_minus_reader_average=boot.interval(
            {**hybrid_mean, **{c: -1.0 / r for c in reader_cols}}),
        hybrid_minus_reader={x: boot.interval({h: 1.0, c: -1.0}) for x, c, h in zip(readers, reader_cols, hybrid_cols, strict=False)},
        model_minus_reader={x: boot.interval({"model": 1.0, c: -1.0}) for x, c in zip(readers, reader_cols, strict=False)},
        bootstrap=boot,
        n_cases=truth_array.size, n_positive=int(truth_array.sum()),
        n_clusters=truth_array.size if clusters is None else int(np.unique(clusters).size),
    )


def split_reader_model(ratings: Ratings, model_modality: str, reader_modality: str | None = None):
    """(reader modality name, its ModalityRatings, the model's scores) from a Ratings table."""
    model = ratings.modality(model_modality)
    if len(model.readers) != 1:
        raise RatingsError(
            f"the model modality {model_modality!r} must have exactly one reader (the model), "
            f"it has {len(model.readers)}: {', '.join(model.readers)}"
        )
    if reader_modality is None:
        others = [m for m in ratings.modalities if m != model_modality]
        if len(others) != 1:
            raise RatingsError(
                f"choose the readers' modality (--reader-modality) among: {', '.join(others)}"
                if others else "the ratings hold no modality besides the model's"
            )
        reader_modality = others[0]
    if reader_modality == model_modality:
        raise RatingsError("the reader modality and the model modality must differ")
    return reader_modality, ratings.modality(reader_modality), model.scores[0]


def compare_ratings(ratings: Ratings, model_modality: str, reader_modality: str | None = None,
                    lam: float = DEFAULT_LAM, replicates: int = DEFAULT_REPLICATES,
                    seed: int | None = None, level: float = 0.95) -> ReaderModelResult:
    """`compare_readers_model` on a Ratings table; clusters come from its cluster_id."""
    reader_modality, readers, model_scores = split_reader_model(ratings, model_modality, reader_modality)
    clusters = ratings.clusters() if ratings.cluster_ids is not None else None
    return compare_readers_model(
        ratings.truth, readers.scores, model_scores, readers=readers.readers, clusters=clusters,
        lam=lam, replicates=replicates, seed=seed, level=level,
        reader_modality=reader_modality, model_modality=model_modality,
    )
