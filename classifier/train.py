"""Training the demonstration view-wise model on phantom exams.

The published repository ships no training code and its weights are not available here, so the
demo runs on a small image-only view-wise model trained from scratch on synthetic phantoms. It is
a demonstration model, not a diagnostic one, and its checkpoint says so (`demonstration=True`).

Inputs are prepared exactly as `classifier.predict` prepares them without augmentation (crop to
the breast, optimal centre, the published window at full resolution), then the window is resized
to the reduced input size recorded in the checkpoint (`metadata["input_size"]`), which `predict`
reads to do the same at inference. Training adds the published Gaussian input noise (train mode);
BatchNorm statistics are re-estimated over the whole training set at the end, because a few
small batches leave the running averages far from the data.

    python -m classifier train --exam-list EXAMS.json --image-dir DIR --labels labels.csv --out ckpt.pt
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .exam import Exam, read_exam_list
from .networks import VIEWS, ViewWiseModel
from .preprocessing import (
    INPUT_SIZES,
    WindowNoise,
    best_center,
    crop_mammogram,
    make_window,
    to_training_orientation,
    view_kind,
)
from .weights import save_checkpoint

DEMO_DESCRIPTION = "demonstration model trained on synthetic phantoms, not a diagnostic model"
DEFAULT_INPUT_SCALE = 0.125
DEFAULT_EPOCHS = 5
DEFAULT_BATCH_SIZE = 4
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_VERSION = "demo-1"


@dataclass
class TrainingSummary:
    checkpoint: Path
    weights_sha256: str
    exams: int
    input_size: dict[str, list[int]]
    epoch_losses: list[float] = field(default_factory=list)
    initial_loss: float = float("nan")
    final_loss: float = float("nan")
    seconds: float = 0.0


def reduced_input_sizes(scale: float) -> dict[str, list[int]]:
    """Published input sizes scaled by `scale` (0 < scale <= 1), at least 32 pixels a side."""
    if not 0 < scale <= 1:
        raise ValueError(f"input scale must be in (0, 1], got {scale}")
    return {kind: [max(32, int(round(side * scale))) for side in size] for kind, size in INPUT_SIZES.items()}


def read_labels(path: str | Path) -> dict[str, np.ndarray]:
    """labels.csv (exam_id,side,malignant,benign) -> exam_id -> targets in LABELS order."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"labels file not found: {path}")
    sides: dict[str, dict[str, tuple[int, int]]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        required = {"exam_id", "side", "malignant", "benign"}
        if reader.fieldnames is None or not required <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected the columns exam_id,side,malignant,benign; got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            side = row["side"].strip().upper()
            if side not in ("L", "R"):
                raise ValueError(f"{path}:{line}: side must be L or R, got {row['side']!r}")
            try:
                values = tuple(int(row[column]) for column in ("malignant", "benign"))
            except ValueError:
                raise ValueError(f"{path}:{line}: malignant and benign must be 0 or 1") from None
            if any(value not in (0, 1) for value in values):
                raise ValueError(f"{path}:{line}: malignant and benign must be 0 or 1, got {values}")
            exam_sides = sides.setdefault(row["exam_id"].strip(), {})
            if side in exam_sides:
                raise ValueError(f"{path}:{line}: duplicate row for exam {row['exam_id']} side {side}")
            exam_sides[side] = values
    targets = {}
    for exam_id, exam_sides in sides.items():
        if set(exam_sides) != {"L", "R"}:
            raise ValueError(f"{path}: exam {exam_id} needs one row per side (L and R)")
        (left_malignant, left_benign), (right_malignant, right_benign) = exam_sides["L"], exam_sides["R"]
        targets[exam_id] = np.array([left_benign, right_benign, left_malignant, right_malignant], dtype=np.int64)
    return targets


def exam_windows(exam: Exam, input_size: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """The (1, h, w) standardised input window of each view (first image of the view), unaugmented."""
    windows = {}
    no_noise = WindowNoise.none()
    for view in VIEWS:
        image = exam.images[view][0]
        cropped, crop = crop_mammogram(image.load(), view, exam.horizontal_flip)
        oriented = np.ascontiguousarray(to_training_orientation(cropped, view, exam.horizontal_flip), dtype=np.float32)
        kind = view_kind(view)
        center = best_center(oriented, kind, crop)
        # The size-noise draw happens even without noise (published stream); its values are unused.
        window, _ = make_window(
            oriented[None], kind, center, INPUT_SIZES[kind], np.random.RandomState(0), no_noise,
            output_size=tuple(input_size[kind]),
        )
        windows[view] = window
    return windows


def _batches(count: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    order = rng.permutation(count)
    return [order[start : start + batch_size] for start in range(0, count, batch_size)]


def _loss(model: ViewWiseModel, inputs: dict[str, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    outputs = model(inputs)
    return sum(F.nll_loss(outputs[head].reshape(-1, 2), targets.reshape(-1)) for head in ("CC", "MLO")) / 2


def _evaluate(model: ViewWiseModel, inputs: dict[str, torch.Tensor], targets: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(targets), batch_size):
            part = slice(start, start + batch_size)
            total += float(_loss(model, {v: x[part] for v, x in inputs.items()}, targets[part])) * len(targets[part])
    return total / len(targets)


def _recalibrate_batchnorm(model: ViewWiseModel, inputs: dict[str, torch.Tensor], batch_size: int) -> None:
    """Replace the BatchNorm running statistics by their average over the whole training set."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all batches seen
    model.train()
    with torch.no_grad():
        for start in range(0, len(next(iter(inputs.values()))), batch_size):
            for view in VIEWS:
                model.four_view_resnet.trunk(view)(inputs[view][start : start + batch_size])
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def train(
    exam_list: str | Path,
    image_dir: str | Path,
    labels: str | Path,
    out: str | Path,
    *,
    input_scale: float = DEFAULT_INPUT_SCALE,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    version: str = DEFAULT_VERSION,
    log: Callable[[str], None] | None = None,
) -> TrainingSummary:
    """Train the image-only view-wise demo model and write its checkpoint to `out`."""
    log = log or (lambda message: None)
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    started = time.perf_counter()
    input_size = reduced_input_sizes(input_scale)
    exams = read_exam_list(exam_list, image_dir)
    targets_by_exam = read_labels(labels)
    unlabelled = [exam.exam_id for exam in exams if exam.exam_id not in targets_by_exam]
    if unlabelled:
        raise ValueError(f"{len(unlabelled)} exam(s) have no labels: {', '.join(unlabelled[:5])}")
    if len(exams) < 2:
        raise ValueError("training needs at least 2 exams")

    log(f"preparing {len(exams)} exams at input size {input_size}")
    windows = [exam_windows(exam, input_size) for exam in exams]
    inputs = {view: torch.from_numpy(np.stack([w[view] for w in windows])) for view in VIEWS}
    targets = torch.from_numpy(np.stack([targets_by_exam[exam.exam_id] for exam in exams]))

    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    model = ViewWiseModel(in_channels=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    summary = TrainingSummary(Path(out), "", len(exams), input_size)
    summary.initial_loss = _evaluate(model, inputs, targets, batch_size)
    log(f"initial loss {summary.initial_loss:.4f}")
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for batch in _batches(len(exams), batch_size, rng):
            index = torch.from_numpy(batch)
            loss = _loss(model, {view: x[index] for view, x in inputs.items()}, targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * len(batch)
        summary.epoch_losses.append(running / len(exams))
        log(f"epoch {epoch + 1}/{epochs}: training loss {summary.epoch_losses[-1]:.4f}")
    _recalibrate_batchnorm(model, inputs, batch_size)
    summary.final_loss = _evaluate(model, inputs, targets, batch_size)
    summary.seconds = time.perf_counter() - started
    log(f"final loss (eval mode) {summary.final_loss:.4f} after {summary.seconds:.1f} s")

    summary.weights_sha256 = save_checkpoint(
        out,
        model,
        architecture="viewwise-resnet22",
        variant="image_only",
        version=version,
        demonstration=True,
        extra_metadata={
            "description": DEMO_DESCRIPTION,
            "input_size": input_size,
            "input_scale": input_scale,
            "preprocessing": "published crop, optimal centre and unaugmented window, bicubic-resized to input_size",
            "training": {
                "exams": len(exams),
                "epochs": epochs,
                "seed": seed,
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "initial_loss": summary.initial_loss,
                "epoch_losses": summary.epoch_losses,
                "final_loss": summary.final_loss,
                "seconds": round(summary.seconds, 2),
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        },
    )
    log(f"wrote {out} (weights sha256 {summary.weights_sha256})")
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier train",
        description=(
            "Train the image-only view-wise demonstration model on phantom exams and write its checkpoint "
            f"(labelled: {DEMO_DESCRIPTION})."
        ),
    )
    parser.add_argument("--exam-list", required=True, type=Path, help="EXAMS.json: list of {exam_id, horizontal_flip, L-CC, R-CC, L-MLO, R-MLO}")
    parser.add_argument("--image-dir", required=True, type=Path, help="folder of the 16-bit PNG images named in the exam list")
    parser.add_argument("--labels", required=True, type=Path, help="labels.csv with columns exam_id,side,malignant,benign (side L/R, values 0/1)")
    parser.add_argument("--out", required=True, type=Path, help="checkpoint to write")
    parser.add_argument("--input-scale", type=float, default=DEFAULT_INPUT_SCALE, help=f"input size as a fraction of the published size (default {DEFAULT_INPUT_SCALE})")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default {DEFAULT_EPOCHS}")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"exams per step (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_LEARNING_RATE, help=f"Adam learning rate (default {DEFAULT_LEARNING_RATE})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weight initialisation and batch order (default 0)")
    parser.add_argument("--version", default=DEFAULT_VERSION, help=f"version string recorded in the checkpoint (default {DEFAULT_VERSION})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        train(
            args.exam_list, args.image_dir, args.labels, args.out,
            input_scale=args.input_scale, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
            learning_rate=args.learning_rate, version=args.version,
            log=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
