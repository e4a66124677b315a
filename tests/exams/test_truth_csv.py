"""Ground-truth CSV parsing (pure) and import (all or nothing)."""
import pytest

from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import BreastTruth
from readerstudy.exams.truth import import_truth
from readerstudy.exams.truth_csv import parse_truth_csv

HEADER = "exam_id,side,malignant,benign,source\n"


def test_valid_rows_with_synonyms_and_agreeing_duplicates():
    rows, errors = parse_truth_csv(HEADER + "E1,L,1,0,biopsy\nE1,right,0,yes,\nE1,L,1,0,biopsy\n")
    assert errors == []
    assert [(r.exam_id, r.side, r.malignant, r.benign, r.source) for r in rows] == [
        ("E1", "L", True, False, "biopsy"), ("E1", "R", False, True, "")]


def test_every_error_is_listed_with_its_line():
    text = HEADER + "E1,L,1,0,x\nE1,X,1,0,x\nE2,R,2,0,x\n,R,0,0,x\nE1,L,0,0,x\nE3,R\n"
    rows, errors = parse_truth_csv(text, exam_exists=lambda exam_id: exam_id != "E2")
    assert [str(e) for e in errors] == [
        "line 3: side 'X' is not L or R",
        "line 4: unknown exam 'E2'",
        "line 4: malignant '2' is not 0 or 1",
        "line 5: exam_id is empty",
        "line 6: conflicts with line 2 for exam 'E1' side L",
        "line 7: 2 cells, expected 5",
    ]


@pytest.mark.parametrize("text, message", [
    ("", "line 1: the file is empty"),
    ("exam_id,side,benign\n", "line 1: missing column(s) malignant; expected exam_id,side,malignant,benign[,source]"),
    ("exam_id,side,malignant,benign\n", "line 1: the file has no data rows"),
])
def test_structural_errors(text, message):
    assert [str(e) for e in parse_truth_csv(text)[1]] == [message]


@pytest.mark.django_db
def test_import_truth_maps_original_exam_ids_and_stores_nothing_on_error(media_root, phantom_dir):
    ingest_paths([phantom_dir], keep_identifier_map=False)
    text = (phantom_dir / "truth.csv").read_text()
    stored, errors = import_truth(text + "PH-S7-0001,L,0,1,conflict\n")
    assert stored == 0 and "conflicts with line 2" in str(errors[0])
    assert BreastTruth.objects.count() == 0
    stored, errors = import_truth(text)
    assert (stored, errors) == (4, [])
    assert BreastTruth.objects.count() == 4
    assert set(BreastTruth.objects.values_list("source", flat=True)) == {"phantom"}
    # Re-importing replaces rather than duplicates.
    assert import_truth(text)[0] == 4 and BreastTruth.objects.count() == 4
