"""`python -m classifier`: subcommands, exit codes and the conformance exam through the CLI."""
import csv
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from classifier.cli import main
from classifier.preprocessing import write_png_uint16
from tests.classifier.test_heatmaps import C1, conformance, expected_pipeline, stored_heatmaps
from tests.shared_data import shared_path

REPO_ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
LABELS = ("left_benign", "right_benign", "left_malignant", "right_malignant")


def c1_record():
    return {"exam_id": "C1", "horizontal_flip": "NO", **{view: f"{stem}.png" for view, stem in C1.items()}}


def write_list(path, records):
    path.write_text(json.dumps(records))
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def assert_matches_run(row, run):
    expected = expected_pipeline()["predictions"][run]["predictions"]
    for label in LABELS:
        # 4 printed decimals (published format): rounding adds at most 5e-5 to the 1e-4 tolerance.
        assert float(row[label]) == pytest.approx(expected[label], abs=1e-4 + 5e-5), label


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


# -- help and argument errors ------------------------------------------------------------------

@pytest.mark.parametrize(
    "command, words",
    [
        ("predict", ["left_benign", "--heatmap-weights", "--tta", "--seed", "--device"]),
        ("crop", ["EXAMS.json", "window_location", "cropped"]),
        ("centers", ["best_center"]),
        ("heatmaps", [".npy", "heatmap_benign", "stored orientation"]),
    ],
)
def test_help_documents_inputs_and_outputs(capsys, command, words):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in text


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("predict", "crop", "centers", "heatmaps", "train"):
        assert command in out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"R-MLO": None}, "missing view(s) R-MLO"),
        ({"L-CC": "absent.png"}, "image file not found"),
        ({"horizontal_flip": "SIDEWAYS"}, "horizontal_flip must be 'NO' or 'YES'"),
    ],
)
@pytest.mark.parametrize("command", ["predict", "crop", "heatmaps"])
def test_bad_exam_lists_exit_2_with_one_line(tmp_path, capsys, change, message, command):
    record = c1_record()
    for key, value in change.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    exam_list = write_list(tmp_path / "EXAMS.json", [record])
    image_dir = str(shared_path("data", "nyu_sample"))
    args = {
        "predict": ["--weights", str(tmp_path / "w.p"), "--out", str(tmp_path / "p.csv")],
        "crop": ["--out-dir", str(tmp_path / "out")],
        "heatmaps": ["--heatmap-weights", str(tmp_path / "w.p"), "--out-dir", str(tmp_path / "out")],
    }[command]
    assert main([command, "--exam-list", str(exam_list), "--image-dir", image_dir, *args]) == 2
    assert message in one_line_error(capsys)


def test_missing_exam_list_and_weights_exit_2(tmp_path, capsys):
    assert main(["predict", "--exam-list", str(tmp_path / "none.json"), "--weights", "w.p", "--out", "p.csv"]) == 2
    assert "exam list not found" in one_line_error(capsys)
    exam_list = write_list(tmp_path / "EXAMS.json", [c1_record()])
    image_dir = str(shared_path("data", "nyu_sample"))
    code = main(["predict", "--exam-list", str(exam_list), "--image-dir", image_dir, "--weights", str(tmp_path / "w.p"), "--out", str(tmp_path / "p.csv")])
    assert code == 2
    assert "weight file not found" in one_line_error(capsys)


def test_bad_option_values_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--exam-list", "x", "--weights", "w", "--out", "o", "--tta", "0"])
    assert exit_info.value.code == 2


def test_centers_needs_cropped_list(tmp_path, capsys):
    exam_list = write_list(tmp_path / "EXAMS.json", [c1_record()])
    code = main(["centers", "--exam-list", str(exam_list), "--image-dir", str(shared_path("data", "nyu_sample")), "--out", str(tmp_path / "o.json")])
    assert code == 2
    assert "run `crop` first" in one_line_error(capsys)


def test_train_is_delegated_lazily(monkeypatch):
    seen = []
    fake = types.ModuleType("classifier.train")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "classifier.train", fake)
    assert main(["train", "--epochs", "1", "--out", "demo.p"]) == 0
    assert seen == [["--epochs", "1", "--out", "demo.p"]]


# -- conformance exam C1 through the CLI (slow: full-size images) -------------------------------

@pytest.mark.slow
def test_predict_reproduces_c1_image_only(tmp_path):
    exam_list = write_list(tmp_path / "EXAMS.json", [c1_record()])
    out = tmp_path / "predictions.csv"
    process = subprocess.run(
        [sys.executable, "-m", "classifier", "predict", "--exam-list", str(exam_list), "--image-dir", str(shared_path("data", "nyu_sample")),
         "--weights", str(conformance("viewwise_image_only.p")), "--out", str(out), "--device", "cpu"],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert process.returncode == 0, process.stderr
    assert "exam" in process.stderr  # the tqdm progress bar goes to stderr
    assert out.read_text().splitlines()[0] == "exam_id,left_benign,right_benign,left_malignant,right_malignant"
    (row,) = read_csv(out)
    assert row["exam_id"] == "C1"
    assert_matches_run(row, "image_only_no_augmentation")


@pytest.mark.slow
def test_crop_centers_predict_chain_on_c1(tmp_path):
    exam_list = write_list(tmp_path / "EXAMS.json", [c1_record()])
    cropped_dir = tmp_path / "cropped"
    assert main(["crop", "--exam-list", str(exam_list), "--image-dir", str(shared_path("data", "nyu_sample")), "--out-dir", str(cropped_dir)]) == 0
    (record,) = json.loads((cropped_dir / "EXAMS.json").read_text())
    expected = expected_pipeline()
    for view in VIEWS:
        reference = expected["crop"][view]
        for key in ("window_location", "rightmost_points", "bottommost_points", "distance_from_starting_side"):
            assert record[key][view] == [reference[key]]
    centered = tmp_path / "centered.json"
    assert main(["centers", "--exam-list", str(cropped_dir / "EXAMS.json"), "--out", str(centered)]) == 0
    (record,) = json.loads(centered.read_text())
    assert record["best_center"] == {view: [expected["best_center"][view]] for view in VIEWS}
    out = tmp_path / "predictions.csv"
    code = main(["predict", "--exam-list", str(centered), "--image-dir", str(cropped_dir), "--weights", str(conformance("viewwise_image_only.p")),
                 "--out", str(out), "--no-progress"])
    assert code == 0
    assert_matches_run(read_csv(out)[0], "image_only_no_augmentation")


@pytest.mark.slow
def test_predict_with_heatmap_dir_reproduces_c1_image_heatmaps(tmp_path):
    heatmap_dir = tmp_path / "heatmaps"
    for name in ("benign", "malignant"):
        (heatmap_dir / f"heatmap_{name}").mkdir(parents=True)
        for view in VIEWS:
            np.save(heatmap_dir / f"heatmap_{name}" / f"{C1[view]}.npy", getattr(stored_heatmaps(view), name))
    exam_list = write_list(tmp_path / "EXAMS.json", [c1_record()])
    out = tmp_path / "predictions.csv"
    code = main(["predict", "--exam-list", str(exam_list), "--image-dir", str(shared_path("data", "nyu_sample")), "--weights",
                 str(conformance("viewwise_image_heatmaps.p")), "--heatmap-dir", str(heatmap_dir), "--out", str(out), "--no-progress"])
    assert code == 0
    assert_matches_run(read_csv(out)[0], "image_heatmaps_no_augmentation")


@pytest.mark.slow
def test_heatmaps_stage_output_feeds_predict(tmp_path):
    """`heatmaps` then `predict --heatmap-dir` equals `predict --heatmap-weights` (small exam, 2 augmented passes)."""
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    yy, xx = np.mgrid[:520, :420]
    rng = np.random.default_rng(0)
    record = {"exam_id": "small", "horizontal_flip": "NO"}
    for view in VIEWS:
        wall = 0 if view.startswith("L") else 419
        disc = (yy - 260) ** 2 + (xx - wall) ** 2 < 220**2
        write_png_uint16(image_dir / f"{view}.png", np.where(disc, rng.integers(500, 4000, size=disc.shape), 0).astype(np.uint16))
        record[view] = f"{view}.png"
    exam_list = write_list(tmp_path / "EXAMS.json", [record])
    common = ["--exam-list", str(exam_list), "--image-dir", str(image_dir)]
    patch_weights = str(conformance("patch_densenet121.p"))
    assert main(["heatmaps", *common, "--heatmap-weights", patch_weights, "--out-dir", str(tmp_path / "maps"), "--no-progress"]) == 0
    benign = np.load(tmp_path / "maps" / "heatmap_benign" / "R-CC.npy")
    assert benign.dtype == np.float32 and benign.ndim == 2 and 0 <= benign.min() <= benign.max() <= 1
    model = ["--weights", str(conformance("viewwise_image_heatmaps.p")), "--tta", "2", "--seed", "3", "--no-progress"]
    assert main(["predict", *common, *model, "--heatmap-dir", str(tmp_path / "maps"), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["predict", *common, *model, "--heatmap-weights", patch_weights, "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
