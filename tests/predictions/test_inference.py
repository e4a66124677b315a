"""The bridge to the classifier with a real (tiny, random-weight) network: pixels, orientation, batching, failures."""
import numpy as np
import pytest

from readerstudy.exams.models import Image
from readerstudy.predictions import heatmaps, inference, registry
from tests.predictions.builders import make_exam

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def version(tiny_model_path):
    return registry.register_weights(tiny_model_path, name="tiny")


def test_pixels_come_back_as_stored(settings):
    exam = make_exam(0)
    image = exam.images.get(view="R-CC")
    pixels = inference.read_pixels(image)
    assert pixels.shape == (image.rows, image.columns) and pixels.dtype == np.uint16
    assert int(pixels.min()) == image.pixel_min and int(pixels.max()) == image.pixel_max


def test_hanging_pixels_mirror_and_invert():
    stored = np.array([[0, 1, 4095]], dtype=np.uint16)
    image = Image(flip_horizontal=True, photometric_interpretation="MONOCHROME1", bits_stored=12)
    assert inference.hanging_pixels(image, stored).tolist() == [[0, 4094, 4095]]


def test_batched_exams_match_one_by_one_classifier_calls(version, tiny_model_path):
    from classifier import weights
    from classifier.predict import predict

    exams = [make_exam(i) for i in range(3)]
    batched = inference.predict_exams(version, [e.pk for e in exams], {"tta": 2, "seed": 3, "heatmaps": False})
    model = weights.load(tiny_model_path)
    for exam in exams:
        expected = predict(inference.classifier_exam(exam)[0], model, tta=2, seed=3).as_dict()
        got = batched[exam.pk].probabilities
        assert got.keys() == expected.keys()
        assert all(0.0 <= value <= 1.0 for value in got.values())
        np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), atol=1e-5)


def test_a_corrupt_image_fails_only_its_exam(version):
    good, bad = make_exam(0), make_exam(1, corrupt_view="R-MLO")
    results = inference.predict_exams(version, [good.pk, bad.pk], {"heatmaps": False})
    assert isinstance(results[good.pk], inference.ExamResult)
    assert isinstance(results[bad.pk], inference.ExamFailure)
    assert "R-MLO" in results[bad.pk].reason and "cannot be decompressed" in results[bad.pk].reason


def test_a_replaced_weights_file_is_refused(version, tmp_path):
    from tests.predictions.builders import write_tiny_model

    inference.clear_cache()
    version.weights_file = str(write_tiny_model(tmp_path / "other.ckpt", seed=5))
    results = inference.predict_exams(version, [make_exam(0).pk], {})
    (failure,) = results.values()
    assert isinstance(failure, inference.ExamFailure) and "SHA-256" in failure.reason


def test_the_model_is_loaded_once_per_process(version, monkeypatch):
    from classifier import weights

    inference.clear_cache()
    loads = []
    real_load = weights.load
    monkeypatch.setattr(weights, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    exam = make_exam(0)
    inference.predict_exams(version, [exam.pk], {"heatmaps": False})
    inference.predict_exams(version, [exam.pk], {"heatmaps": False})
    assert len(loads) == 1


def test_heatmaps_cover_the_stored_image_in_its_orientation(tiny_model_path, patch_model_path):
    version = registry.register_weights(tiny_model_path, name="with heatmaps", heatmap_weights=patch_model_path)
    exam = make_exam(0)
    Image.objects.filter(exam=exam, view="L-CC").update(flip_horizontal=True)
    result = inference.predict_exams(version, [exam.pk], {"heatmap_mode": "fast"})[exam.pk]
    assert set(result.heatmaps) == {"L-CC", "R-CC", "L-MLO", "R-MLO"}
    for view, maps in result.heatmaps.items():
        image = exam.images.get(view=view)
        assert maps.malignant.shape == (image.rows, image.columns)
        assert 0.0 <= maps.malignant.min() and maps.malignant.max() <= 1.0
    # Mirrored storage gives a mirrored heatmap: L-CC was declared stored mirrored, so its crop
    # (the breast, chest wall side) now lies at the right edge of the stored image.
    l_cc = result.heatmaps["L-CC"].malignant
    covered = np.flatnonzero(l_cc.any(axis=0))
    assert covered.max() == l_cc.shape[1] - 1


def test_stored_overlays_are_small_8_bit_pngs(media_root):
    from PIL import Image as PILImage

    values = np.linspace(0, 1, 2000 * 1000, dtype=np.float32).reshape(2000, 1000)
    run = type("Run", (), {"pk": 9})()
    stored = heatmaps.store(run, 4, {"L-CC": inference.ViewHeatmaps(values, values[:, ::-1])})
    entry = stored["L-CC"]
    assert entry["malignant"] == "heatmaps/run-9/exam-4/L-CC-malignant.png"
    with PILImage.open(media_root / entry["benign"]) as png:
        assert png.mode == "L" and png.size == (256, 512) == (entry["width"], entry["height"])
        pixels = np.asarray(png)
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_ingested_dicom_phantoms_run_end_to_end(version, tmp_path, settings):
    """The whole path on exams imported the normal way: DICOM -> ingest -> task -> predictions."""
    from readerstudy.exams import phantoms
    from readerstudy.exams.ingest import ingest_paths
    from readerstudy.exams.models import Exam
    from readerstudy.predictions import runs, tasks
    from readerstudy.predictions.models import Prediction

    settings.DEID_SECRET = "test"
    phantoms.generate(2, tmp_path / "dicom", size=(480, 384), seed=5)
    assert ingest_paths([tmp_path / "dicom"]).imported == 8
    exams = list(Exam.objects.order_by("label"))
    run = runs.start_run(version, exam_ids=[e.pk for e in exams], options={"batch_size": 2})
    outcome = tasks.predict_exams(run.pk, [e.pk for e in exams])
    assert sorted(outcome["done"]) == sorted(e.pk for e in exams)
    run.refresh_from_db()
    assert run.status == "done" and Prediction.objects.filter(run=run).count() == 2
