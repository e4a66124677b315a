"""16-bit PNG exams in the classifier's format: exam lists, the real NYU sample, phantom PNGs."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from readerstudy.exams import phantoms
from readerstudy.exams.derivatives import decode_pixel_planes
from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import Exam, Image
from readerstudy.exams.orientation import chest_wall_side_from_content, wanted_chest_wall_side
from readerstudy.exams.png_exams import parse_exam_list, read_png
from readerstudy.exams.rejections import RejectedFile
from tests.exams.conftest import SMALL
from tests.shared_data import shared_path


def displayed(pixels: np.ndarray, flip: bool) -> np.ndarray:
    return pixels[:, ::-1] if flip else pixels


def stored_pixels(image: Image) -> np.ndarray:
    return decode_pixel_planes(Path(image.pixels_file.path).read_bytes(), image.rows, image.columns)


def test_json_list_in_the_classifier_style():
    text = json.dumps([{"exam_id": "1", "horizontal_flip": "NO", "L-CC": ["1_L_CC"], "R-CC": ["1_R_CC"],
                        "L-MLO": [], "R-MLO": []}])
    (exam,) = parse_exam_list("exam_list.json", text.encode())
    assert exam.exam_id == "1" and exam.horizontal_flip is False
    assert exam.views == {"L-CC": "1_L_CC.png", "R-CC": "1_R_CC.png"}


def test_csv_list_with_line_numbers_in_errors():
    good = b"exam_id,horizontal_flip,L-CC,R-CC,L-MLO,R-MLO\n7,YES,a.png,b.png,,\n"
    (exam,) = parse_exam_list("list.csv", good)
    assert exam.horizontal_flip is True and exam.views == {"L-CC": "a.png", "R-CC": "b.png"}
    with pytest.raises(RejectedFile) as bad:
        parse_exam_list("list.csv", good + b"8,MAYBE,c.png,,,\n")
    assert bad.value.reason_code == "invalid_exam_list" and "line 3" in bad.value.message


@pytest.mark.parametrize("payload, fragment", [
    (b"{}", "must be a list"),
    (b'[{"L-CC": "a.png"}]', "exam_id is missing"),
    (b'[{"exam_id": "1"}]', "names no view"),
    (b'[{"exam_id": "1", "L-CC": "a.png"}, {"exam_id": "1", "R-CC": "b.png"}]', "listed twice"),
    (b'[{"exam_id": "1", "L-CC": ["a", "b"]}]', "one is supported"),
])
def test_bad_json_lists_are_refused_with_a_specific_message(payload, fragment):
    with pytest.raises(RejectedFile) as refused:
        parse_exam_list("x.json", payload)
    assert refused.value.reason_code == "invalid_exam_list" and fragment in refused.value.message


def test_png_declared_size_is_checked_before_decoding():
    header_only = _png(np.zeros((300, 200), dtype=np.uint16))
    with pytest.raises(RejectedFile) as refused:
        read_png(header_only, "L-CC", False, max_pixels=100 * 100)
    assert refused.value.reason_code == "image_too_large"


def _png(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_phantom_pngs_import_with_views_orientation_and_exact_values(media_root, tmp_path):
    out = tmp_path / "png"
    phantoms.generate(2, out, size=SMALL, fmt="png", seed=4)
    report = ingest_paths([out])
    assert report.imported == 8, [(r.name, r.reason, r.message) for r in report.results if r.reason]
    assert {r.status for r in report.results if r.name.endswith(".json")} == {"exam_list"}
    assert {r.status for r in report.results if r.name.endswith("labels.csv")} == {"skipped"}
    for image in Image.objects.select_related("exam"):
        assert image.exam.source == Exam.Source.PNG and image.flip_horizontal is False
        source = out / f"{image.exam.identifier_map.original_accession_number}_{image.view.replace('-', '_')}.png"
        assert np.array_equal(stored_pixels(image), np.asarray(PILImage.open(source)))
        side = chest_wall_side_from_content(displayed(stored_pixels(image), image.flip_horizontal), False)
        assert side == wanted_chest_wall_side(image.view[0])


@pytest.mark.django_db
def test_horizontal_flip_yes_mirrors_for_display(media_root, tmp_path):
    exam = phantoms.make_exam(1, SMALL, seed=2)
    (tmp_path / "l.png").write_bytes(_png(phantoms.to_png16(exam.views["L-CC"][:, ::-1])))
    (tmp_path / "list.json").write_text(json.dumps([{"exam_id": "m1", "horizontal_flip": "YES", "L-CC": "l.png"}]))
    assert ingest_paths([tmp_path]).imported == 1
    image = Image.objects.get()
    assert image.flip_horizontal is True
    side = chest_wall_side_from_content(displayed(stored_pixels(image), True), False)
    assert side == "left"


@pytest.mark.slow
@pytest.mark.django_db
def test_real_nyu_sample_pngs_import_with_right_views_and_orientation(media_root, tmp_path):
    sample = shared_path("data", "nyu_sample")
    files = sorted(sample.glob("*_CC.png"))
    assert len(files) == 4
    exam_list = [{"exam_id": exam, "horizontal_flip": "NO", "L-CC": f"{exam}_L_CC.png", "R-CC": f"{exam}_R_CC.png"}
                 for exam in ("1", "2")]
    (tmp_path / "exam_list.json").write_text(json.dumps(exam_list))
    report = ingest_paths([*files, tmp_path / "exam_list.json"])
    assert report.imported == 4, [(r.name, r.reason, r.message) for r in report.results if r.reason]
    assert Exam.objects.count() == 2
    for image in Image.objects.select_related("exam__identifier_map"):
        exam_id = image.exam.identifier_map.original_accession_number
        source = sample / f"{exam_id}_{image.view.replace('-', '_')}.png"
        original = np.asarray(PILImage.open(source))
        pixels = stored_pixels(image)
        assert (image.rows, image.columns, image.bits_stored) == (3328, 2560, 16)
        assert np.array_equal(pixels, original)
        assert image.flip_horizontal is False
        # L views face right (chest wall on the left edge), R views face left: back to back.
        side = chest_wall_side_from_content(displayed(pixels, image.flip_horizontal), False)
        assert side == wanted_chest_wall_side(image.view[0]), image
