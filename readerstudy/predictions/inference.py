"""The bridge between the database and `classifier`: Image rows in, probabilities and heatmaps out.

Pixels come from ingest's pixel derivative (`Image.pixels_file`: the stored values, rows x
columns, in the stored orientation, as gzip-compressed byte planes; see exams/derivatives.py).
Each image is mirrored by its `flip_horizontal` into the hanging orientation (left breast facing
right, right breast facing left), which is exactly the classifier's `horizontal_flip = "NO"`
convention, so every exam goes to the classifier with "NO". MONOCHROME1 images are inverted so
that tissue is bright, as the model expects.

We crop (stage 1) here with the classifier's own `crop_mammogram` and hand it the cropped image
and its metadata, so that the crop window is known and the heatmaps (which cover the crop) can be
placed back on the whole image.

Models are loaded once per worker process and kept (`loaded_models`). Exams of one task are
prepared one by one (cropping, centres, heatmaps: CPU work that scales with the image) and then
go through the view-wise network together, one batch per test-time pass; if the device runs out
of memory the batch is split into single exams. Every exam gets its own random streams seeded
with the run's seed, so its prediction equals `classifier.predict.predict(exam, seed=seed)` and
does not depend on which other exams shared its task.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from readerstudy.exams.derivatives import decode_pixel_planes
from readerstudy.exams.models import VIEWS, Exam, Image

logger = logging.getLogger(__name__)

HANGING_FLIP = "NO"  # classifier convention matching the hanging orientation
CACHE_SIZE = 2  # model versions kept per process (each holds one or two networks)


class UnreadableImage(Exception):
    """The stored pixels of an image cannot be decoded: the exam fails, no retry helps."""


@dataclass(frozen=True)
class ExamFailure:
    reason: str


@dataclass
class ViewHeatmaps:
    """Benign and malignant heatmaps (H, W) float32 in [0, 1], the size and orientation of the stored image."""

    benign: np.ndarray
    malignant: np.ndarray


@dataclass
class ExamResult:
    probabilities: dict[str, float]
    heatmaps: dict[str, ViewHeatmaps] | None = None


@dataclass
class _Prepared:
    exam_id: int
    layout: dict  # view -> (image row, crop metadata)
    prepared: dict  # classifier.predict.prepare_exam output
    windows: object  # generator of test-time windows


def read_pixels(image: Image) -> np.ndarray:
    """The stored pixels of an image as (rows, columns) uint16, in the stored orientation.

    A file that cannot be opened raises OSError (treated as transient: shared storage may come
    back); a file whose content is damaged raises UnreadableImage.
    """
    with image.pixels_file.open("rb") as handle:
        raw = handle.read()
    try:
        return decode_pixel_planes(raw, image.rows, image.columns)
    except ValueError as error:
        raise UnreadableImage(f"{image.view}: {error}") from None


def hanging_pixels(image: Image, stored: np.ndarray) -> np.ndarray:
    """The image as the classifier wants it: hanging orientation, tissue bright."""
    pixels = stored[:, ::-1] if image.flip_horizontal else stored
    if image.photometric_interpretation == "MONOCHROME1":
        top = np.uint16(min((1 << image.bits_stored) - 1, 0xFFFF))
        pixels = top - np.minimum(pixels, top)
    return np.ascontiguousarray(pixels, dtype=np.uint16)


def classifier_exam(exam: Exam):
    """(classifier Exam with cropped images, {view: (Image row, crop metadata)}) for one exam."""
    from classifier.exam import Exam as ClassifierExam
    from classifier.exam import ExamImage
    from classifier.preprocessing.crop import CropError, crop_mammogram

    images = {image.view: image for image in exam.images.all()}
    missing = [view for view in VIEWS if view not in images]
    if missing:
        raise UnreadableImage(f"the exam has no {', '.join(missing)} image; the model needs all four views")
    layout, exam_images = {}, {}
    for view in VIEWS:
        image = images[view]
        pixels = hanging_pixels(image, read_pixels(image))
        try:
            cropped, crop = crop_mammogram(pixels, view, HANGING_FLIP)
        except CropError as error:
            raise UnreadableImage(f"{view}: no breast found to crop ({error})") from None
        layout[view] = (image, crop)
        exam_images[view] = ExamImage(cropped, crop=crop)
    return ClassifierExam(exam.label, HANGING_FLIP, exam_images), layout


@dataclass
class LoadedVersion:
    model: object  # classifier.weights.LoadedModel, view-wise
    patch_model: object | None  # the DenseNet-121 patch model, when registered
    device: object


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def loaded_models(version, device: str = "auto") -> LoadedVersion:
    """The version's networks on `device`, loaded on first use in this process and kept.

    The file's SHA-256 must still be the one registered: a replaced weights file is refused rather
    than silently giving different predictions under the same version name.
    """
    from classifier import weights
    from classifier.device import choose_device

    resolved = choose_device(device)
    key = (version.pk, version.weights_file, version.heatmap_weights_file, version.sha256, str(resolved))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        model = weights.load(version.weights_file, device=resolved, kind="viewwise")
        if model.sha256 != version.sha256:
            raise ValueError(
                f"weights file {version.weights_file} has SHA-256 {model.sha256}, but model version "
                f"{version.name!r} was registered with {version.sha256}; register the new file as a new version"
            )
        patch = None
        if version.heatmap_weights_file:
            patch = weights.load(version.heatmap_weights_file, device=resolved, kind="patch")
        entry = LoadedVersion(model, patch, resolved)
        _cache[key] = entry
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        logger.info("loaded model version %s (%s) on %s", version.name, version.sha256[:12], resolved)
        return entry


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def predict_exams(version, exam_ids: list[int], options: dict) -> dict[int, ExamResult | ExamFailure]:
    """Predict each exam; an exam that cannot be read or modelled gets an ExamFailure with the reason.

    Errors that concern the whole task (the database, the file store, the weights) are raised.
    """
    import torch

    try:
        models = loaded_models(version, options.get("device", "auto"))
    except ValueError as error:
        return {exam_id: ExamFailure(f"model version {version.name!r} cannot be used: {error}") for exam_id in exam_ids}
    results: dict[int, ExamResult | ExamFailure] = {}
    want_heatmaps = bool(options.get("heatmaps", True)) and models.patch_model is not None
    needs_patch = models.model.in_channels == 3
    exams = {exam.pk: exam for exam in Exam.objects.filter(pk__in=exam_ids).prefetch_related("images")}
    batch: list[_Prepared] = []
    with torch.inference_mode():
        for exam_id in exam_ids:
            exam = exams.get(exam_id)
            if exam is None:
                results[exam_id] = ExamFailure("the exam no longer exists")
                continue
            try:
                batch.append(_prepare(exam, models, options, with_patch=want_heatmaps or needs_patch))
            except (UnreadableImage, ValueError) as error:
                results[exam_id] = ExamFailure(str(error))
        for item, probabilities in zip(batch, _forward(models, batch, options), strict=False):
            heatmaps = _full_size_heatmaps(item) if want_heatmaps else None
            results[item.exam_id] = ExamResult(probabilities, heatmaps)
    return results


def _prepare(exam: Exam, models: LoadedVersion, options: dict, *, with_patch: bool) -> _Prepared:
    """Stages 1-3 of one exam, and its generator of test-time windows (its own random streams)."""
    from classifier.predict import RandomStreams, iterate_windows, model_input_sizes, prepare_exam

    cexam, layout = classifier_exam(exam)
    streams = RandomStreams.from_seed(int(options.get("seed", 0)))
    prepared = prepare_exam(
        cexam,
        models.patch_model.model if with_patch else None,
        streams.patches,
        heatmap_mode=options.get("heatmap_mode", "exact"),
    )
    tta = int(options.get("tta", 1))
    windows = iterate_windows(
        prepared, streams.windows, tta, tta > 1, models.model.in_channels == 3, model_input_sizes(models.model.metadata)
    )
    return _Prepared(exam.pk, layout, prepared, windows)


def _forward(models: LoadedVersion, batch: list[_Prepared], options: dict) -> list[dict[str, float]]:
    """Positive probabilities per exam, averaged over the test-time passes (in probability space)."""
    from classifier.networks.viewwise import LABELS

    if not batch:
        return []
    tta = int(options.get("tta", 1))
    module = models.model.model
    sums = np.zeros((len(batch), len(LABELS)), dtype=np.float64)
    for _ in range(tta):
        windows = [next(item.windows)[0] for item in batch]
        sums += _run_network(module, windows, models.device)
    means = sums / tta
    return [{label: float(value) for label, value in zip(LABELS, row, strict=False)} for row in means]


def _run_network(module, windows: list[dict], device) -> np.ndarray:
    """(N, 4) probabilities for N exams' windows; splits the batch if the device runs out of memory."""
    import torch

    from classifier.networks.viewwise import viewwise_probabilities

    try:
        inputs = {view: torch.from_numpy(np.stack([w[view] for w in windows])).to(device) for view in VIEWS}
        return viewwise_probabilities(module(inputs)).double().cpu().numpy()
    except torch.OutOfMemoryError:
        if len(windows) == 1:
            raise
        logger.warning("out of memory with %d exams in a batch; running them one at a time", len(windows))
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return np.concatenate([_run_network(module, [w], device) for w in windows])


def _full_size_heatmaps(item: _Prepared) -> dict[str, ViewHeatmaps]:
    """Each view's heatmaps (computed on the crop, training orientation) on the whole stored image."""
    from classifier.preprocessing.io import needs_mirror

    result = {}
    for view in VIEWS:
        image, crop = item.layout[view]
        maps = item.prepared[view][0].heatmaps
        top, bottom, left, right = crop.window_location
        full = []
        for values in (maps.benign, maps.malignant):
            if needs_mirror(view, HANGING_FLIP):  # back from training to hanging orientation
                values = values[:, ::-1]
            canvas = np.zeros((image.rows, image.columns), dtype=np.float32)
            canvas[top:bottom, left:right] = values
            full.append(canvas[:, ::-1] if image.flip_horizontal else canvas)  # back to stored orientation
        result[view] = ViewHeatmaps(np.ascontiguousarray(full[0]), np.ascontiguousarray(full[1]))
    return result
