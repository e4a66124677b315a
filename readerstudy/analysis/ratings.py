"""The long-format ratings table, the exchange format of reader studies.

One row per reading: `reader_id, modality, case_id, truth, rating[, cluster_id]`, the shape
the established MRMC packages read. Cases that share a `cluster_id` (the two breasts of an
exam) are resampled together by the bootstrap and left out together by the jackknife.

`read_ratings` turns the file into arrays and rejects anything that would make a statistic
silently wrong, with a message that names the line, the column or the reader.
"""
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED_COLUMNS = ("reader_id", "modality", "case_id", "truth", "rating")
OPTIONAL_COLUMNS = ("cluster_id",)
_MAX_LISTED = 5


class RatingsError(ValueError):
    """The ratings table cannot be analysed as given; the message says why and where."""


@dataclass(frozen=True)
class ModalityRatings:
    readers: tuple[str, ...]
    scores: np.ndarray  # (n_readers, n_cases), cases in the order of Ratings.case_ids


@dataclass(frozen=True)
class Ratings:
    case_ids: tuple[str, ...]
    truth: np.ndarray  # (n_cases,) bool
    modalities: dict[str, ModalityRatings]  # in order of first appearance
    cluster_ids: tuple[str, ...] | None = None  # per case; None: each case is its own cluster

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    def clusters(self) -> np.ndarray:
        """Integer cluster code per case (0..G-1), each case its own cluster when none given."""
        if self.cluster_ids is None:
            return np.arange(self.n_cases)
        _, codes = np.unique(np.asarray(self.cluster_ids, dtype=object).astype(str), return_inverse=True)
        return codes

    def modality(self, name: str) -> ModalityRatings:
        try:
            return self.modalities[name]
        except KeyError:
            raise RatingsError(
                f"no modality {name!r} in the ratings; modalities present: {', '.join(self.modalities)}"
            ) from None


def read_ratings(source) -> Ratings:
    """Read a long-format CSV from a path or an open text file."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists() or path.is_dir():
            raise RatingsError(f"{path}: no such file")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(handle)
    return _parse(source)


def ratings_from_rows(rows) -> Ratings:
    """Build Ratings from dicts with the long-format keys (values as str or numbers)."""
    rows = list(rows)
    if not rows:
        raise RatingsError("the ratings table is empty")
    columns = list(rows[0].keys())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    buffer.seek(0)
    return _parse(buffer)


def _parse(handle) -> Ratings:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise RatingsError("the ratings file is empty (expected a header line "
                           f"{','.join(REQUIRED_COLUMNS)}[,cluster_id])")
    header = [cell.strip() for cell in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise RatingsError(
            f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}; "
            f"required: {', '.join(REQUIRED_COLUMNS)} (optional: cluster_id)"
        )
    index = {name: header.index(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name in header}
    has_cluster = "cluster_id" in index

    case_truth: dict[str, tuple[int, int]] = {}  # case -> (truth, first line)
    case_cluster: dict[str, tuple[str, int]] = {}
    readings: dict[str, dict[str, dict[str, float]]] = {}  # modality -> reader -> case -> rating
    seen_line: dict[tuple[str, str, str], int] = {}

    for line_no, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise RatingsError(f"line {line_no}: {len(row)} field(s), the header has {len(header)}")
        value = {name: row[i].strip() for name, i in index.items()}
        for name in REQUIRED_COLUMNS[:3]:
            if not value[name]:
                raise RatingsError(f"line {line_no}: empty {name}")
        reader_id, modality, case_id = value["reader_id"], value["modality"], value["case_id"]
        truth = _parse_truth(value["truth"], line_no)
        rating = _parse_rating(value["rating"], line_no)

        first = case_truth.setdefault(case_id, (truth, line_no))
        if first[0] != truth:
            raise RatingsError(
                f"case {case_id!r} has two truths: {first[0]} on line {first[1]} and {truth} on line {line_no}"
            )
        if has_cluster:
            cluster = value["cluster_id"]
            if not cluster:
                raise RatingsError(f"line {line_no}: empty cluster_id")
            first_cluster = case_cluster.setdefault(case_id, (cluster, line_no))
            if first_cluster[0] != cluster:
                raise RatingsError(
                    f"case {case_id!r} has two cluster_ids: {first_cluster[0]!r} on line "
                    f"{first_cluster[1]} and {cluster!r} on line {line_no}"
                )
        key = (modality, reader_id, case_id)
        if key in seen_line:
            raise RatingsError(
                f"line {line_no}: reader {reader_id!r} already rated case {case_id!r} in modality "
                f"{modality!r} on line {seen_line[key]}"
            )
        seen_line[key] = line_no
        readings.setdefault(modality, {}).setdefault(reader_id, {})[case_id] = rating

    if not case_truth:
        raise RatingsError("the ratings file has a header but no readings")
    case_ids = tuple(case_truth)
    truth = np.array([case_truth[c][0] for c in case_ids], dtype=bool)
    n_pos = int(truth.sum())
    if n_pos == 0 or n_pos == truth.size:
        raise RatingsError(
            f"the cases need both truths: {n_pos} positive and {truth.size - n_pos} negative case(s)"
        )

    modalities = {}
    for modality, by_reader in readings.items():
        matrix = np.empty((len(by_reader), len(case_ids)))
        for r, (reader_id, by_case) in enumerate(by_reader.items()):
            if len(by_case) != len(case_ids):
                absent = [c for c in case_ids if c not in by_case]
                listed = ", ".join(repr(c) for c in absent[:_MAX_LISTED])
                more = f" and {len(absent) - _MAX_LISTED} more" if len(absent) > _MAX_LISTED else ""
                raise RatingsError(
                    f"missing readings: reader {reader_id!r} in modality {modality!r} has no rating "
                    f"for {len(absent)} of {len(case_ids)} case(s): {listed}{more}"
                )
            matrix[r] = [by_case[c] for c in case_ids]
        modalities[modality] = ModalityRatings(readers=tuple(by_reader), scores=matrix)

    cluster_ids = tuple(case_cluster[c][0] for c in case_ids) if has_cluster else None
    return Ratings(case_ids=case_ids, truth=truth, modalities=modalities, cluster_ids=cluster_ids)


def _parse_truth(text: str, line_no: int) -> int:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if number not in (0.0, 1.0):
        raise RatingsError(f"line {line_no}: truth {text!r} is not 0 (negative) or 1 (positive)")
    return int(number)


def _parse_rating(text: str, line_no: int) -> float:
    try:
        number = float(text)
    except ValueError:
        raise RatingsError(f"line {line_no}: rating {text!r} is not a number") from None
    if not math.isfinite(number):
        raise RatingsError(f"line {line_no}: rating {text!r} is not a finite number")
    return number


def to_exam_level(ratings: Ratings) -> Ratings:
    """Breast level to exam level: an exam (cluster) is positive if either breast is, and
    its score is the maximum over its breasts, for every reader and modality."""
    if ratings.cluster_ids is None:
        raise RatingsError("exam-level analysis needs a cluster_id column naming each case's exam")
    exam_ids, codes = np.unique(np.asarray(ratings.cluster_ids, dtype=str), return_inverse=True)
    truth = np.zeros(exam_ids.size, dtype=bool)
    np.logical_or.at(truth, codes, ratings.truth)
    modalities = {}
    for name, modality in ratings.modalities.items():
        scores = np.full((len(modality.readers), exam_ids.size), -np.inf)
        np.maximum.at(scores.T, codes, modality.scores.T)
        modalities[name] = ModalityRatings(readers=modality.readers, scores=scores)
    if truth.all() or not truth.any():
        raise RatingsError("at exam level the cases need both truths")
    return Ratings(case_ids=tuple(str(e) for e in exam_ids), truth=truth, modalities=modalities)


def write_ratings(ratings: Ratings, destination) -> None:
    """Write Ratings back to the long format (with cluster_id when present)."""
    columns = list(REQUIRED_COLUMNS) + (["cluster_id"] if ratings.cluster_ids is not None else [])
    own = isinstance(destination, (str, Path))
    handle = open(destination, "w", newline="", encoding="utf-8") if own else destination
    try:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for modality, data in ratings.modalities.items():
            for r, reader_id in enumerate(data.readers):
                for c, case_id in enumerate(ratings.case_ids):
                    row = [reader_id, modality, case_id, int(ratings.truth[c]), repr(float(data.scores[r, c]))]
                    if ratings.cluster_ids is not None:
                        row.append(ratings.cluster_ids[c])
                    writer.writerow(row)
    finally:
        if own:
            handle.close()
