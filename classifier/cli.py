"""Command line: `python -m classifier {predict,crop,centers,heatmaps,train} ...`.

Every subcommand reads an exam list (EXAMS.json, see classifier.exam) and an image directory.
Input errors (missing view, missing file, bad horizontal_flip, unreadable weights...) end the
command with exit status 2 and a one-line message on stderr.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from .exam import Exam, ExamError, ExamImage, read_exam_list, write_exam_list
from .networks.viewwise import LABELS, VIEWS

PREDICT_HELP = """\
Run the whole pipeline (crop, optimal centres, heatmaps for image+heatmaps models, input windows,
view-wise network) on every exam of the list and write one CSV row per exam, in list order:
exam_id,left_benign,right_benign,left_malignant,right_malignant (4 decimals, as published).
The random streams carry on from one exam to the next, as in the published runner.
The exam list may be a raw list (images are cropped here) or the output of `crop`/`centers`
(images are then the cropped PNGs and their metadata is used as given)."""

CROP_HELP = """\
Stage 1. Crop every image to the breast. Writes OUT_DIR/<file name> (cropped 16-bit PNG, stored
orientation) for every image, and OUT_DIR/EXAMS.json (or --out-exam-list): the exam list with the
published per-view, per-image metadata lists window_location, rightmost_points,
bottommost_points and distance_from_starting_side. An exam with an image that fails to crop is
reported on stderr and left out (exit status 1)."""

CENTERS_HELP = """\
Stage 2. Read a cropped exam list (the output of `crop`) and its cropped PNGs, compute each
image's optimal window centre (y, x) in training orientation, and write the same exam list with
best_center added."""

HEATMAPS_HELP = """\
Stage 3. Compute the benign and malignant heatmaps of every image with the DenseNet-121 patch
classifier. The exam list may be raw (images are cropped in memory) or cropped (the output of
`crop`). Writes OUT_DIR/heatmap_benign/<stem>.npy and OUT_DIR/heatmap_malignant/<stem>.npy:
float32 arrays of the cropped image's shape, in the cropped PNG's stored orientation
(values in [0, 1]). `predict --heatmap-dir OUT_DIR` reads them back. The Python random stream of
the patch grid is seeded once with --seed and shared by all images in list order."""


class CliError(Exception):
    """Bad input: reported as one line, exit status 2."""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exam-list", required=True, type=Path, help="EXAMS.json exam list")
    parser.add_argument("--image-dir", type=Path, help="folder of the PNGs named in the list (default: the list's folder)")


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default: cuda when present)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifier", description="NYU breast cancer classifier pipeline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser("predict", help="whole pipeline, predictions CSV", description=PREDICT_HELP)
    _add_common(predict)
    predict.add_argument("--weights", required=True, type=Path, help="view-wise model weights (.p or checkpoint)")
    predict.add_argument("--out", required=True, type=Path, help="predictions CSV to write")
    predict.add_argument("--heatmap-weights", type=Path, help="patch classifier weights (needed by image+heatmaps models)")
    predict.add_argument("--heatmap-dir", type=Path, help="use heatmaps written by `heatmaps` instead of computing them")
    predict.add_argument("--heatmap-mode", choices=("exact", "fast"), default="exact", help="see classifier.heatmaps (default exact)")
    predict.add_argument("--tta", type=_positive_int, default=1, help="1: no augmentation (default); N>1: N augmented passes averaged")
    predict.add_argument("--seed", type=int, default=0, help="seed of both random streams (default 0)")
    predict.add_argument("--batch-size", type=_positive_int, default=100, help="patches per DenseNet batch (default 100)")
    predict.add_argument("--autocast", choices=("fp32", "bf16", "fp16"), default=None, help="reduced precision on CUDA (default fp32)")
    predict.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_device(predict)

    crop = commands.add_parser("crop", help="stage 1: cropped PNGs + exam list with crop metadata", description=CROP_HELP)
    _add_common(crop)
    crop.add_argument("--out-dir", required=True, type=Path, help="folder for the cropped PNGs")
    crop.add_argument("--out-exam-list", type=Path, help="exam list to write (default OUT_DIR/EXAMS.json)")
    crop.add_argument("--iterations", type=_positive_int, default=100, help="erosion/dilation iterations (default 100)")
    crop.add_argument("--buffer", type=int, default=50, help="margin in pixels (default 50)")

    centers = commands.add_parser("centers", help="stage 2: add best_center to a cropped exam list", description=CENTERS_HELP)
    _add_common(centers)
    centers.add_argument("--out", required=True, type=Path, help="exam list to write")

    heatmaps = commands.add_parser("heatmaps", help="stage 3: benign/malignant heatmaps as .npy", description=HEATMAPS_HELP)
    _add_common(heatmaps)
    heatmaps.add_argument("--heatmap-weights", required=True, type=Path, help="patch classifier weights")
    heatmaps.add_argument("--out-dir", required=True, type=Path, help="folder for heatmap_benign/ and heatmap_malignant/")
    heatmaps.add_argument("--mode", choices=("exact", "fast"), default="exact", help="see classifier.heatmaps (default exact)")
    heatmaps.add_argument("--seed", type=int, default=0, help="seed of the patch-grid random stream (default 0)")
    heatmaps.add_argument("--batch-size", type=_positive_int, default=100, help="patches per batch (default 100)")
    heatmaps.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_device(heatmaps)

    commands.add_parser(
        "train",
        help="fit the demonstration view-wise model (arguments: python -m classifier train --help)",
        add_help=False,
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from .train import main as train_main  # imported lazily: training pulls in more than inference needs

        return int(train_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    handlers = {"predict": run_predict, "crop": run_crop, "centers": run_centers, "heatmaps": run_heatmaps}
    try:
        return handlers[args.command](args)
    except (CliError, ExamError, FileNotFoundError, ValueError) as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


def _load_weights(path: Path, device: str | None, kind: str):
    from . import weights

    try:
        return weights.load(path, device=device, kind=kind)
    except (FileNotFoundError, ValueError) as error:
        raise CliError(f"{path}: {error}" if str(path) not in str(error) else str(error)) from None


@contextmanager
def _progress(total: int | None, unit: str, enabled: bool, description: str) -> Iterator:
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, desc=description, file=sys.stderr, disable=not enabled, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def _attach_heatmaps(exams: list[Exam], heatmap_dir: Path) -> None:
    for exam in exams:
        for view in VIEWS:
            for image in exam.images[view]:
                stem = Path(image.file_name).stem
                paths = (heatmap_dir / "heatmap_benign" / f"{stem}.npy", heatmap_dir / "heatmap_malignant" / f"{stem}.npy")
                for path in paths:
                    if not path.is_file():
                        raise CliError(f"exam {exam.exam_id} view {view}: heatmap file not found: {path}")
                image.heatmaps = paths


def run_predict(args: argparse.Namespace) -> int:
    from .predict import RandomStreams, predict

    exams = read_exam_list(args.exam_list, args.image_dir)
    if args.heatmap_dir is not None:
        _attach_heatmaps(exams, args.heatmap_dir)
    model = _load_weights(args.weights, args.device, "viewwise")
    patch_model = _load_weights(args.heatmap_weights, args.device, "patch") if args.heatmap_weights else None
    if model.in_channels == 3 and patch_model is None and args.heatmap_dir is None:
        raise CliError(f"{args.weights} is an image+heatmaps model: give --heatmap-weights or --heatmap-dir")
    if model.demonstration:
        print("note: these are DEMONSTRATION weights, not a diagnostic model", file=sys.stderr)
    computes_heatmaps = model.in_channels == 3 and args.heatmap_dir is None
    streams = RandomStreams.from_seed(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    show = not args.no_progress
    # Rows go to a temporary file renamed at the end, so a failed run never leaves a partial CSV.
    partial = args.out.with_name(args.out.name + ".partial")
    try:
        with open(partial, "w", newline="") as handle, _progress(len(exams), "exam", show, "exams") as bar:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["exam_id", *LABELS])
            for exam in exams:
                patches = None
                if computes_heatmaps and show:
                    patches = _progress(_patch_total(exam), "patch", show, f"heatmaps {exam.exam_id}")
                with patches if patches is not None else nullcontext() as patch_bar, _exam_errors(exam):
                    result = predict(
                        exam,
                        model,
                        heatmap_model=patch_model if computes_heatmaps else None,
                        tta=args.tta,
                        rng=streams,
                        seed=args.seed,
                        autocast=args.autocast,
                        batch_size=args.batch_size,
                        heatmap_mode=args.heatmap_mode,
                        patch_progress=patch_bar.update if patch_bar is not None else None,
                    )
                writer.writerow([exam.exam_id, *(f"{value:.4f}" for value in result.as_dict().values())])
                bar.update(1)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(args.out)
    return 0


@contextmanager
def _exam_errors(exam: Exam) -> Iterator[None]:
    """Name the exam in errors raised while processing it."""
    try:
        yield
    except (ValueError, FileNotFoundError) as error:
        raise CliError(f"exam {exam.exam_id}: {error}") from None


def _patch_total(exam: Exam) -> int | None:
    """Patches the exam's heatmaps need, when its crop shapes are known (else the bar just counts)."""
    from .heatmaps import estimated_patches

    images = [image for view in VIEWS for image in exam.images[view]]
    if any(image.crop is None for image in images):
        return None
    return sum(estimated_patches(image.crop.cropped_shape) for image in images)


def run_crop(args: argparse.Namespace) -> int:
    from .preprocessing.crop import CropError, crop_mammogram
    from .preprocessing.io import write_png_uint16

    exams = read_exam_list(args.exam_list, args.image_dir)
    if any(image.crop is not None for exam in exams for view in VIEWS for image in exam.images[view]):
        raise CliError(f"{args.exam_list} already holds crop metadata: give the list of raw images")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    kept, failed = [], 0
    for exam in exams:
        cropped_images = {}
        try:
            for view in VIEWS:
                cropped_images[view] = []
                for image in exam.images[view]:
                    cropped, metadata = crop_mammogram(
                        image.load(), view, exam.horizontal_flip, iterations=args.iterations, buffer=args.buffer
                    )
                    target = args.out_dir / image.file_name
                    write_png_uint16(target, cropped)
                    cropped_images[view].append(ExamImage(target, metadata))
        except CropError as error:
            failed += 1
            print(f"warning: exam {exam.exam_id}: failed to crop ({error}); exam left out", file=sys.stderr)
            continue
        kept.append(Exam(exam.exam_id, exam.horizontal_flip, cropped_images))
    write_exam_list(args.out_exam_list or args.out_dir / "EXAMS.json", kept)
    return 1 if failed else 0


def run_centers(args: argparse.Namespace) -> int:
    from .preprocessing.centers import best_center
    from .preprocessing.io import to_training_orientation, view_kind

    exams = read_exam_list(args.exam_list, args.image_dir)
    for exam in exams:
        for view in VIEWS:
            for image in exam.images[view]:
                if image.crop is None:
                    raise CliError(f"exam {exam.exam_id}: no crop metadata; run `crop` first and pass its exam list")
                training = to_training_orientation(image.load(), view, exam.horizontal_flip)
                image.best_center = best_center(training, view_kind(view), image.crop)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_exam_list(args.out, exams)
    return 0


def run_heatmaps(args: argparse.Namespace) -> int:
    import torch

    from .heatmaps import compute_heatmaps, estimated_patches
    from .predict import prepare_image
    from .preprocessing.io import to_training_orientation

    exams = read_exam_list(args.exam_list, args.image_dir)
    patch_model = _load_weights(args.heatmap_weights, args.device, "patch")
    stream = random.Random(args.seed)
    folders = {"benign": args.out_dir / "heatmap_benign", "malignant": args.out_dir / "heatmap_malignant"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    with _progress(0, "patch", not args.no_progress, "heatmaps") as bar, torch.inference_mode():
        for exam in exams:
            for view in VIEWS:
                for image in exam.images[view]:
                    item = prepare_image(view, exam.horizontal_flip, image)
                    bar.total += estimated_patches(item.image.shape)
                    bar.refresh()
                    maps = compute_heatmaps(
                        item.image, patch_model.model, stream, mode=args.mode, batch_size=args.batch_size, progress=bar.update
                    )
                    stem = Path(image.file_name).stem
                    for name, folder in folders.items():
                        stored = to_training_orientation(getattr(maps, name), view, exam.horizontal_flip)
                        np.save(folder / f"{stem}.npy", np.ascontiguousarray(stored))
    return 0
