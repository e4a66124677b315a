"""Training the demonstration model on tiny synthetic 16-bit phantom exams."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.networks import VIEWS, viewwise_probabilities
from classifier.train import DEMO_DESCRIPTION, main, read_labels, reduced_input_sizes, train
from classifier.weights import load

HEIGHT, WIDTH = 480, 360


def _phantom(rng, facing_right: bool, lesion: bool) -> np.ndarray:
    """A half-ellipse 'breast' on the chest-wall edge, with a bright blob when `lesion`."""
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    depth = x if facing_right else WIDTH - 1 - x
    breast = ((y - HEIGHT / 2) / 210) ** 2 + (depth / 300) ** 2 <= 1
    image = np.where(breast, 9000 + 2000 * rng.random((HEIGHT, WIDTH)), 0)
    if lesion:
        cy, cx = rng.integers(180, 300), rng.integers(60, 160)
        cx = cx if facing_right else WIDTH - 1 - cx
        image += breast * 30000 * np.exp(-(((y - cy) ** 2 + (x - cx) ** 2) / (2 * 18.0**2)))
    return np.clip(image, 0, 65535).astype(np.uint16)


def _write_png(path, array):
    Image.fromarray(array).save(path)  # uint16 arrays are written as 16-bit greyscale PNGs


@pytest.fixture
def phantom_exams(tmp_path):
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    images.mkdir()
    exams, rows = [], ["exam_id,side,malignant,benign"]
    for index in range(8):
        exam_id = f"P{index}"
        malignant_side = "LR"[index % 2] if index % 4 < 2 else None
        record = {"exam_id": exam_id, "horizontal_flip": "NO"}
        for view in VIEWS:
            side = view[0]
            name = f"{exam_id}_{view}.png"
            _write_png(images / name, _phantom(rng, facing_right=side == "L", lesion=side == malignant_side))
            record[view] = name
        exams.append(record)
        for side in "LR":
            rows.append(f"{exam_id},{side},{int(side == malignant_side)},{int(index % 3 == 0)}")
    (tmp_path / "exams.json").write_text(json.dumps(exams))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_reduced_input_sizes():
    assert reduced_input_sizes(1.0) == {"CC": [2677, 1942], "MLO": [2974, 1748]}
    assert reduced_input_sizes(0.25) == {"CC": [669, 486], "MLO": [744, 437]}
    with pytest.raises(ValueError, match="input scale"):
        reduced_input_sizes(0)


def test_read_labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("exam_id,side,malignant,benign\nA,L,1,0\nA,R,0,1\n")
    assert read_labels(path)["A"].tolist() == [0, 1, 1, 0]  # left_benign, right_benign, left_malignant, right_malignant
    path.write_text("exam_id,side,malignant,benign\nA,L,1,0\n")
    with pytest.raises(ValueError, match="one row per side"):
        read_labels(path)
    path.write_text("exam_id,side,malignant,benign\nA,X,1,0\n")
    with pytest.raises(ValueError, match="side must be L or R"):
        read_labels(path)
    path.write_text("exam,side\nA,L\n")
    with pytest.raises(ValueError, match="expected the columns"):
        read_labels(path)


@pytest.mark.slow
def test_train_writes_a_usable_demo_checkpoint(phantom_exams):
    out = phantom_exams / "demo.pt"
    summary = train(
        phantom_exams / "exams.json", phantom_exams / "images", phantom_exams / "labels.csv", out,
        input_scale=0.05, epochs=4, seed=0, batch_size=4,
    )
    assert summary.exams == 8 and len(summary.epoch_losses) == 4
    assert summary.final_loss < summary.initial_loss

    loaded = load(out)
    assert loaded.kind == "viewwise" and loaded.in_channels == 1
    assert loaded.demonstration and loaded.metadata["description"] == DEMO_DESCRIPTION
    assert loaded.metadata["input_size"] == {"CC": [134, 97], "MLO": [149, 87]}
    assert loaded.metadata["weights_sha256"] == summary.weights_sha256
    assert loaded.metadata["training"]["epochs"] == 4
    sizes = loaded.metadata["input_size"]
    views = {view: torch.randn(1, 1, *sizes[view.split("-")[1]]) for view in VIEWS}
    with torch.inference_mode():
        probabilities = viewwise_probabilities(loaded.model(views))
    assert probabilities.shape == (1, 4) and bool(((probabilities > 0) & (probabilities < 1)).all())


def test_main_reports_bad_input(phantom_exams, capsys):
    (phantom_exams / "labels.csv").write_text("exam_id,side,malignant,benign\nP0,L,0,0\nP0,R,0,0\n")
    code = main([
        "--exam-list", str(phantom_exams / "exams.json"), "--image-dir", str(phantom_exams / "images"),
        "--labels", str(phantom_exams / "labels.csv"), "--out", str(phantom_exams / "x.pt"),
    ])
    assert code == 2
    assert "have no labels" in capsys.readouterr().err
    assert not (phantom_exams / "x.pt").exists()
