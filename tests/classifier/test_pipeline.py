"""The predict API and exam lists; the four classifier runs of conformance exam C1.

Tolerances (conformance README): window borders exact, head probabilities and predictions,
per pass and final, within 1e-4."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from classifier import weights
from classifier.exam import Exam, ExamError, ExamImage, read_exam_list, write_exam_list
from classifier.networks import ViewWiseModel
from classifier.predict import RandomStreams, predict, predict_many
from tests.classifier.test_heatmaps import C1, c1_exam, c1_prepared, conformance, expected_pipeline
from tests.shared_data import shared_path

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
LABELS = ("left_benign", "right_benign", "left_malignant", "right_malignant")
TOLERANCE = 1e-4


# -- exam lists ------------------------------------------------------------------------------

def write_pngs(folder, names):
    from classifier.preprocessing import write_png_uint16

    for name in names:
        write_png_uint16(folder / name, np.ones((4, 4), dtype=np.uint16))


def test_exam_record_accepts_file_names_and_published_stems(tmp_path):
    write_pngs(tmp_path, ["a.png", "b.png", "c.png", "d.png", "e.png"])
    record = {"exam_id": "x1", "horizontal_flip": "YES", "L-CC": "a.png", "R-CC": ["b"], "L-MLO": ["c.png", "e.png"], "R-MLO": "d"}
    exam = Exam.from_record(record, tmp_path)
    assert exam.exam_id == "x1" and exam.horizontal_flip == "YES"
    assert [image.source.name for image in exam.images["L-MLO"]] == ["c.png", "e.png"]
    assert exam.images["R-MLO"][0].source == tmp_path / "d.png"
    assert all(image.crop is None for view in VIEWS for image in exam.images[view])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"R-MLO": None}, "missing view"),
        ({"horizontal_flip": "maybe"}, "horizontal_flip"),
        ({"L-CC": "absent.png"}, "image file not found"),
        ({"L-CC": []}, "file name"),
    ],
)
def test_exam_record_errors(tmp_path, change, message):
    write_pngs(tmp_path, ["a.png"])
    record = {"horizontal_flip": "NO", **{view: "a.png" for view in VIEWS}}
    for key, value in change.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    with pytest.raises(ExamError, match=message):
        Exam.from_record(record, tmp_path)


def test_exam_list_round_trip_with_metadata(tmp_path):
    write_pngs(tmp_path, ["a.png"])
    crop = {"window_location": [[0, 4, 0, 4]], "rightmost_points": [[[1, 2], 3]], "bottommost_points": [[3, [0, 1]]], "distance_from_starting_side": [0]}
    record = {"exam_id": "e", "horizontal_flip": "NO", **{view: ["a.png"] for view in VIEWS}}
    record.update({key: {view: value for view in VIEWS} for key, value in crop.items()})
    record["best_center"] = {view: [[2, 1]] for view in VIEWS}
    (tmp_path / "list.json").write_text(json.dumps([record]))
    exams = read_exam_list(tmp_path / "list.json")
    image = exams[0].images["R-CC"][0]
    assert image.crop.window_location == (0, 4, 0, 4) and image.best_center == (2, 1)
    write_exam_list(tmp_path / "again.json", exams)
    assert json.loads((tmp_path / "again.json").read_text()) == [record]
    record["window_location"]["L-CC"] = [0, 4, 0, 4]  # not a per-image list
    (tmp_path / "bad.json").write_text(json.dumps([record]))
    with pytest.raises(ExamError, match="window_location"):
        read_exam_list(tmp_path / "bad.json")


def test_exam_list_rejects_duplicates_and_non_lists(tmp_path):
    write_pngs(tmp_path, ["a.png"])
    record = {"exam_id": "same", "horizontal_flip": "NO", **{view: "a.png" for view in VIEWS}}
    (tmp_path / "dup.json").write_text(json.dumps([record, record]))
    with pytest.raises(ExamError, match="duplicate"):
        read_exam_list(tmp_path / "dup.json")
    (tmp_path / "obj.json").write_text(json.dumps(record))
    with pytest.raises(ExamError, match="list"):
        read_exam_list(tmp_path / "obj.json")


# -- predict on a small synthetic exam (a random reduced-size model) -------------------------

def synthetic_exam(exam_id, seed):
    rng = np.random.default_rng(seed)
    images = {}
    for view in VIEWS:
        yy, xx = np.mgrid[:700, :500]
        wall = 0 if view.startswith("L") else 499
        disc = (yy - 350) ** 2 + (xx - wall) ** 2 < 300**2
        images[view] = np.where(disc, rng.integers(500, 4000, size=disc.shape), 0).astype(np.uint16)
    return Exam(exam_id, "NO", images)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    model = ViewWiseModel(1).eval()
    return SimpleNamespace(model=model, in_channels=1, metadata={"input_size": {"CC": [96, 72], "MLO": [104, 64]}})


def test_predict_returns_probabilities_and_traces(small_model):
    result = predict(synthetic_exam("s1", 0), small_model)
    values = result.as_dict()
    assert list(values) == list(LABELS)
    assert all(0 < value < 1 for value in values.values())
    assert len(result.passes) == 1
    trace = result.passes[0].windows["L-CC"]
    assert trace.padded_shape == (2677, 1942)  # planned at the published geometry, then resized
    assert result.heatmaps is None


def test_tta_averages_augmented_passes(small_model):
    result = predict(synthetic_exam("s1", 0), small_model, tta=3, seed=4)
    assert len(result.passes) == 3
    per_pass = np.array([[np.mean([p.head_probabilities["CC"][i], p.head_probabilities["MLO"][i]]) for i in range(4)] for p in result.passes])
    np.testing.assert_allclose(list(result.as_dict().values()), per_pass.mean(axis=0), atol=1e-7)
    assert len({p.windows["L-CC"].borders_final for p in result.passes}) == 3
    again = predict(synthetic_exam("s1", 0), small_model, tta=3, seed=4)
    assert again.as_dict() == result.as_dict()


def test_predict_many_carries_the_random_streams(small_model):
    exams = [synthetic_exam("a", 0), synthetic_exam("b", 1)]
    results = list(predict_many(exams, small_model, tta=2, seed=0))
    streams = RandomStreams.from_seed(0)
    for exam, result in zip(exams, results, strict=False):
        assert result.exam_id == exam.exam_id
        assert result.as_dict() == predict(exam, small_model, tta=2, rng=streams).as_dict()
    # Both exams have the same geometry: only the carried-on stream makes their windows differ.
    assert results[0].passes[0].windows["L-CC"] != results[1].passes[0].windows["L-CC"]


def test_predict_argument_errors(small_model):
    exam = synthetic_exam("s1", 0)
    with pytest.raises(ValueError, match="tta"):
        predict(exam, small_model, tta=0)
    with pytest.raises(ValueError, match="heatmap_model"):
        predict(exam, ViewWiseModel(3).eval())
    with pytest.raises(TypeError):
        predict(exam, object())


# -- conformance exam C1 (slow: full-size images and networks) -----------------------------

def check_run(result, run):
    expected = expected_pipeline()["predictions"][run]
    assert len(result.passes) == expected["num_passes"]
    for actual, reference in zip(result.passes, expected["passes"], strict=False):
        for view in VIEWS:
            assert actual.windows[view].as_dict() == reference["windows"][view], view
        for head in ("CC", "MLO"):
            np.testing.assert_allclose(actual.head_probabilities[head], reference["head_probabilities"][head], rtol=0, atol=TOLERANCE)
    for label in LABELS:
        assert getattr(result, label) == pytest.approx(expected["predictions"][label], abs=TOLERANCE), label


@pytest.fixture(scope="module")
def image_only_model():
    return weights.load(conformance("viewwise_image_only.p"), device="cpu")


@pytest.fixture(scope="module")
def image_heatmaps_model():
    return weights.load(conformance("viewwise_image_heatmaps.p"), device="cpu")


def c1_exam_with_heatmaps():
    """Exam C1 carrying its session-computed heatmaps (stored orientation of each crop)."""
    images = {}
    for view in VIEWS:
        maps = c1_prepared()[view][0].heatmaps
        if view.startswith("R"):
            maps = maps.mirrored()
        images[view] = ExamImage(shared_path("data", "nyu_sample", f"{C1[view]}.png"), heatmaps=(maps.benign, maps.malignant))
    return Exam("C1", "NO", images)


@pytest.mark.slow
def test_c1_image_only_without_augmentation(image_only_model):
    result = predict(c1_exam(), image_only_model, tta=1, seed=0)
    check_run(result, "image_only_no_augmentation")
    assert result.best_centers == {view: [tuple(expected_pipeline()["best_center"][view])] for view in VIEWS}


@pytest.mark.slow
def test_c1_image_only_tta10(image_only_model):
    check_run(predict(c1_exam(), image_only_model, tta=10, seed=0), "image_only_tta10_seed0")


@pytest.mark.slow
def test_c1_image_heatmaps_without_augmentation(image_heatmaps_model):
    check_run(predict(c1_exam_with_heatmaps(), image_heatmaps_model, tta=1, seed=0), "image_heatmaps_no_augmentation")


@pytest.mark.slow
def test_c1_image_heatmaps_tta10(image_heatmaps_model):
    check_run(predict(c1_exam_with_heatmaps(), image_heatmaps_model, tta=10, seed=0), "image_heatmaps_tta10_seed0")


@pytest.mark.slow
def test_c1_returned_heatmaps_are_in_stored_orientation(image_only_model):
    exam = c1_exam_with_heatmaps()
    result = predict(exam, image_only_model, return_heatmaps=True)
    for view in VIEWS:
        returned = result.heatmaps[view][0]
        np.testing.assert_array_equal(returned.benign, exam.images[view][0].heatmaps[0])
        np.testing.assert_array_equal(returned.malignant, exam.images[view][0].heatmaps[1])
