"""Conversion of the NYU reader-study table (Wu et al. 2019, as published in
nyukat/mammography_metarepository) from its wide shape to the long ratings format.

The wide file has one row per breast: `case_ID, side, label, Reader01_POM ... Reader14_POM,
AI_..._POM ...`, probabilities of malignancy on [0, 1]. In the long format each radiologist
is a reader of the modality "radiologists", each model a modality of its own with a single
reader of the same name (e.g. modality "AI_GMIC_top1"), cases are breasts `<case_ID>-<side>`
and the exam `case_ID` is the cluster, so both breasts of an exam are resampled together.
"""
import csv
import re
from pathlib import Path

import numpy as np

from .ratings import ModalityRatings, Ratings, RatingsError

READER_MODALITY = "radiologists"
_READER_COLUMN = re.compile(r"^(Reader\d+)_POM$")
_MODEL_COLUMN = re.compile(r"^(AI_.+)_POM$")
_KEY_COLUMNS = ("case_ID", "side", "label")


def read_nyu_wide(path, models=None) -> Ratings:
    """Ratings from the wide NYU file. `models`: model column names (with or without the
    `_POM` suffix) to keep as modalities; None keeps every model column."""
    path = Path(path)
    if not path.is_file():
        raise RatingsError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise RatingsError(f"{path}: no rows")
    header = list(rows[0].keys())
    missing = [c for c in _KEY_COLUMNS if c not in header]
    if missing:
        raise RatingsError(f"{path}: missing column(s) {', '.join(missing)} of the NYU wide format")
    reader_columns = [c for c in header if _READER_COLUMN.match(c)]
    model_columns = [c for c in header if _MODEL_COLUMN.match(c)]
    if models is not None:
        wanted = [m if m.endswith("_POM") else f"{m}_POM" for m in models]
        unknown = [m for m in wanted if m not in model_columns]
        if unknown:
            raise RatingsError(
                f"unknown model column(s) {', '.join(unknown)}; available: {', '.join(model_columns)}"
            )
        model_columns = wanted
    if not reader_columns:
        raise RatingsError(f"{path}: no ReaderNN_POM columns")

    case_ids, cluster_ids, truth = [], [], []
    for line_no, row in enumerate(rows, start=2):
        if row["label"] not in ("0", "1"):
            raise RatingsError(f"{path}, line {line_no}: label {row['label']!r} is not 0 or 1")
        case_ids.append(f"{row['case_ID']}-{row['side']}")
        cluster_ids.append(row["case_ID"])
        truth.append(row["label"] == "1")
    if len(set(case_ids)) != len(case_ids):
        raise RatingsError(f"{path}: a (case_ID, side) pair appears twice")

    def column(name):
        try:
            return np.array([float(row[name]) for row in rows])
        except ValueError as error:
            raise RatingsError(f"{path}: column {name}: {error}") from None

    modalities = {
        READER_MODALITY: ModalityRatings(
            readers=tuple(_READER_COLUMN.match(c).group(1) for c in reader_columns),
            scores=np.vstack([column(c) for c in reader_columns]),
        )
    }
    for name in model_columns:
        model = _MODEL_COLUMN.match(name).group(1)
        modalities[model] = ModalityRatings(readers=(model,), scores=column(name)[None, :])
    return Ratings(
        case_ids=tuple(case_ids), truth=np.array(truth), modalities=modalities,
        cluster_ids=tuple(cluster_ids),
    )
