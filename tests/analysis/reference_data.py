"""Loaders for the public reference data sets (read from ../shared, never copied).

Plain cached functions rather than conftest fixtures, so the analysis tests also run with
`-p no:django --noconftest`, without the Django test setup.
"""
import csv
from functools import cache

import numpy as np

from readerstudy.analysis.ratings import ratings_from_rows
from tests.shared_data import shared_path


def reference_path(name):
    return shared_path("data", "reference", name)


@cache
def _mrmc_table(name):
    with reference_path(name).open(newline="") as handle:
        rows = [
            {"reader_id": r["reader"], "modality": r["treatment"], "case_id": r["case"],
             "truth": r["truth"], "rating": r["rating"]}
            for r in csv.DictReader(handle)
        ]
    return ratings_from_rows(rows)


def vandyke():
    """Van Dyke et al. 1993: 5 readers x 2 modalities x 114 cases."""
    return _mrmc_table("vandyke.csv")


def franken():
    """Franken et al. 1992: 4 readers x 2 modalities x 100 cases."""
    return _mrmc_table("franken.csv")


@cache
def asah():
    """(truth with outcome Poor as positive, {predictor: scores})."""
    with reference_path("asah.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    truth = np.array([r["outcome"] == "Poor" for r in rows])
    return truth, {name: np.array([float(r[name]) for r in rows]) for name in ("s100b", "ndka", "wfns")}


def nyu_wide_path():
    return reference_path("nyu_reader_study_breast_level.csv")


@cache
def nyu():
    """The NYU reader study with the model AI_GMIC_top1 as a modality."""
    from readerstudy.analysis.nyu import read_nyu_wide

    return read_nyu_wide(nyu_wide_path(), models=["AI_GMIC_top1"])
