"""The synthetic phantom generator (pure): realistic structure, valid DICOM, PNG format, speed."""
import csv
import json
import time

import numpy as np
import pydicom
import pytest
from PIL import Image

from readerstudy.exams import phantoms
from readerstudy.exams.dicom_reader import read_dicom
from readerstudy.exams.orientation import chest_wall_side_from_content, wanted_chest_wall_side
from tests.exams.conftest import SMALL


def test_exam_is_seeded_and_independent_of_n():
    a = phantoms.make_exam(3, SMALL, seed=1)
    b = phantoms.make_exam(3, SMALL, seed=1)
    c = phantoms.make_exam(3, SMALL, seed=2)
    assert all(np.array_equal(a.views[v], b.views[v]) for v in phantoms.VIEWS)
    assert not np.array_equal(a.views["L-CC"], c.views["L-CC"])
    assert a.study_uid == b.study_uid != c.study_uid


@pytest.mark.parametrize("view", phantoms.VIEWS)
def test_anatomy_of_a_view(view):
    exam = phantoms.make_exam(2, (512, 416), seed=0)
    pixels = exam.views[view]
    assert pixels.dtype == np.uint16 and pixels.max() <= 4095
    background = pixels[pixels < 100]
    assert background.size > 0.1 * pixels.size and np.ptp(background) == 0  # flat background
    tissue = pixels[pixels >= 100]
    assert tissue.size > 0.25 * pixels.size and np.std(tissue) > 40  # textured breast
    assert chest_wall_side_from_content(pixels, False) == wanted_chest_wall_side(view[0])
    if view.endswith("MLO"):
        chest_wall = "left" if view[0] == "L" else "right"
        corner = pixels[:40, :40] if chest_wall == "left" else pixels[:40, -40:]
        assert corner.mean() > np.median(tissue)  # pectoral muscle: bright upper chest-wall corner


@pytest.mark.parametrize("kind, malignant", [("mass", True), ("mass", False), ("calcifications", True)])
@pytest.mark.parametrize("position", ["CC", "MLO"])
def test_lesions_are_dense_local_and_inside_the_breast(kind, malignant, position):
    def render(lesions):
        return phantoms.render_view((512, 416), position, lesions, np.random.default_rng(3), 0.7, 0.4, 0.5)

    plain = render([]).astype(np.int32)
    lesion = phantoms.Lesion(kind, malignant, depth=0.5, height=0.2, radius_mm=8.0)
    difference = render([lesion]).astype(np.int32) - plain
    assert difference.min() >= 0 and difference.max() > 300
    changed = difference > 0
    assert 0 < changed.mean() < 0.05  # local
    assert (plain[changed] >= 100).all()  # on breast tissue, not on the background


def test_truth_marks_at_most_one_malignant_breast():
    exams = [phantoms.make_exam(index, (128, 104), seed=0) for index in range(1, 21)]
    assert all(not (e.truth["L"][0] and e.truth["R"][0]) for e in exams)
    assert any(e.truth["L"][0] or e.truth["R"][0] for e in exams)
    assert any(e.truth["L"][1] or e.truth["R"][1] for e in exams)


def test_dicom_files_are_valid_mg_with_synthetic_identifiers(tmp_path):
    written = phantoms.generate(2, tmp_path, size=SMALL, seed=5)
    dicoms = sorted(p for p in written if p.suffix == ".dcm")
    assert len(dicoms) == 8
    ds = pydicom.dcmread(dicoms[0])
    assert ds.Modality == "MG" and ds.SOPClassUID == phantoms.MG_FOR_PRESENTATION
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    assert "PHANTOM" in str(ds.PatientName) and ds.PatientID.startswith("SYNTH-")
    assert "not a real" in ds.InstitutionName
    for path in dicoms:
        image = read_dicom(path.read_bytes())
        assert image.view in phantoms.VIEWS and not image.warnings
    with (tmp_path / "truth.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and set(rows[0]) == {"exam_id", "side", "malignant", "benign", "source"}


def test_png_format_matches_the_classifier(tmp_path):
    written = phantoms.generate(2, tmp_path, size=SMALL, fmt="png", seed=5)
    exams = json.loads((tmp_path / "exam_list.json").read_text())
    assert [e["horizontal_flip"] for e in exams] == ["NO", "NO"]
    assert set(exams[0]) == {"exam_id", "horizontal_flip", *phantoms.VIEWS}
    png = Image.open(tmp_path / exams[0]["L-CC"])
    assert png.mode.startswith("I;16") and png.size == (SMALL[1], SMALL[0])
    values = np.asarray(png)
    assert values.max() > 4095 and (values[values > 0] >= 16).all()  # 12 bits rescaled to 16
    with (tmp_path / "labels.csv").open() as handle:
        assert next(csv.reader(handle)) == ["exam_id", "side", "malignant", "benign"]
    assert len(written) == 8 + 2


def test_size_parsing():
    assert phantoms.parse_size("1024x832") == (1024, 832)
    for bad in ("1024", "axb", "10x10", "9000x100"):
        with pytest.raises(ValueError):
            phantoms.parse_size(bad)


def test_reduced_size_generation_is_fast():
    began = time.perf_counter()
    for index in range(1, 3):
        phantoms.make_exam(index, (1024, 832), seed=0)
    per_exam = (time.perf_counter() - began) / 2
    assert per_exam < 1.4  # 40 exams in under a minute even on a loaded 2-core machine


@pytest.mark.slow
def test_full_size_dicom(tmp_path):
    written = phantoms.generate(1, tmp_path, seed=1)
    ds = pydicom.dcmread(written[0])
    assert (ds.Rows, ds.Columns) == phantoms.FULL_SIZE
    assert float(ds.PixelSpacing[0]) == pytest.approx(0.07)
