"""The whole published pipeline for one exam: crop -> optimal centres -> heatmaps (3-channel
models) -> input windows -> view-wise network, averaged over test-time passes (MODEL.md s1-6, s10).

Random streams follow the published runner so that numbers match it:
- the heatmap stage's Python `random` stream (stride jitter), seeded once per run;
- the classifier stage's numpy `RandomState`, seeded once per run, drawing per pass and per view
  (canonical view order) the image choice (augmentation only), the position noise (augmentation
  only) and the size noise (always).
`predict_many` carries both streams from one exam to the next in list order, as the published
runner does for an exam list; `predict` on one exam with `seed` equals a one-exam list.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .device import autocast as autocast_context
from .device import choose_device
from .exam import Exam, ExamImage
from .heatmaps import DEFAULT_PATCH_BATCH, Heatmaps, compute_heatmaps
from .networks.viewwise import LABELS, VIEWS, viewwise_probabilities
from .preprocessing.centers import INPUT_SIZES, best_center
from .preprocessing.crop import crop_mammogram
from .preprocessing.io import needs_mirror, to_training_orientation, view_kind
from .preprocessing.windows import WindowNoise, WindowTrace, make_window


@dataclass
class RandomStreams:
    """The two random streams of a published run: numpy for windows, Python for patch strides."""

    windows: np.random.RandomState
    patches: random.Random

    @classmethod
    def from_seed(cls, seed: int) -> RandomStreams:
        return cls(np.random.RandomState(seed), random.Random(seed))


@dataclass
class PreparedImage:
    """One image after stages 1-3, in training orientation."""

    name: str
    image: np.ndarray  # (H, W) float32 cropped image
    crop: Any  # CropMetadata
    best_center: tuple[int, int]
    heatmaps: Heatmaps | None = None

    def channels(self, with_heatmaps: bool) -> np.ndarray:
        if not with_heatmaps:
            return self.image[None]
        if self.heatmaps is None:
            raise ValueError("this model needs heatmaps, but none were computed")
        return np.concatenate([self.image[None], self.heatmaps.stacked()])


@dataclass
class PassRecord:
    """One test-time pass: the windows per view and the two heads' positive probabilities."""

    windows: dict[str, WindowTrace]
    head_probabilities: dict[str, list[float]]


@dataclass
class PredictionResult:
    exam_id: str
    left_benign: float
    right_benign: float
    left_malignant: float
    right_malignant: float
    passes: list[PassRecord] = field(default_factory=list)
    # Per view, one Heatmaps per image, in the stored orientation of the cropped image.
    heatmaps: dict[str, list[Heatmaps]] | None = None
    best_centers: dict[str, list[tuple[int, int]]] | None = None

    def as_dict(self) -> dict[str, float]:
        return {label: getattr(self, label) for label in LABELS}


def _unwrap(model: Any) -> tuple[nn.Module, dict]:
    """Accept a weights.LoadedModel or a bare module."""
    if isinstance(model, nn.Module):
        return model, {}
    module = getattr(model, "model", None)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch module or a loaded model, got {type(model).__name__}")
    return module, dict(getattr(model, "metadata", None) or {})


def model_input_sizes(metadata: dict) -> dict[str, tuple[int, int]]:
    """The network's input size per view kind: published sizes unless the weights say otherwise."""
    sizes = metadata.get("input_size")
    if not sizes:
        return dict(INPUT_SIZES)
    try:
        return {kind: (int(sizes[kind][0]), int(sizes[kind][1])) for kind in INPUT_SIZES}
    except (KeyError, TypeError, IndexError, ValueError):
        raise ValueError(f"malformed input_size metadata {sizes!r}; expected {{'CC': [h, w], 'MLO': [h, w]}}") from None


def prepare_image(view: str, horizontal_flip: str, exam_image: ExamImage) -> PreparedImage:
    """Stages 1 and 2 for one image (skipped where the exam already carries their results)."""
    stored = exam_image.load()
    if exam_image.crop is None:
        cropped, crop = crop_mammogram(stored, view, horizontal_flip)
    else:
        cropped, crop = stored, exam_image.crop
        if cropped.shape != crop.cropped_shape:
            raise ValueError(
                f"{exam_image.name}: cropped image is {cropped.shape}, its crop metadata says {crop.cropped_shape}"
            )
    training = to_training_orientation(cropped, view, horizontal_flip)
    center = exam_image.best_center or best_center(training, view_kind(view), crop)
    item = PreparedImage(exam_image.name, np.ascontiguousarray(training, dtype=np.float32), crop, tuple(center))
    given = exam_image.load_heatmaps()
    if given is not None:
        if given[0].shape != cropped.shape:
            raise ValueError(f"{exam_image.name}: heatmaps are {given[0].shape}, the cropped image is {cropped.shape}")
        benign, malignant = (np.ascontiguousarray(to_training_orientation(m, view, horizontal_flip)) for m in given)
        item.heatmaps = Heatmaps(benign, malignant, grid=None, mode="given")
    return item


def prepare_exam(
    exam: Exam,
    heatmap_model: nn.Module | None,
    patch_stream: random.Random,
    *,
    heatmap_mode: str = "exact",
    batch_size: int = DEFAULT_PATCH_BATCH,
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[PreparedImage]]:
    """Stages 1-3 for every image, in the published order (views canonical, images in order)."""
    prepared: dict[str, list[PreparedImage]] = {}
    for view in VIEWS:
        prepared[view] = []
        for exam_image in exam.images[view]:
            item = prepare_image(view, exam.horizontal_flip, exam_image)
            if heatmap_model is not None and item.heatmaps is None:
                item.heatmaps = compute_heatmaps(
                    item.image, heatmap_model, patch_stream, mode=heatmap_mode, batch_size=batch_size, progress=progress
                )
            prepared[view].append(item)
    return prepared


def iterate_windows(
    prepared: dict[str, list[PreparedImage]],
    stream: np.random.RandomState,
    n_passes: int,
    augment: bool,
    with_heatmaps: bool,
    output_sizes: dict[str, tuple[int, int]],
) -> Iterator[tuple[dict[str, np.ndarray], dict[str, WindowTrace]]]:
    """Per pass, the (C, h, w) window of every view and its trace, drawing from `stream` as published.

    Windows are planned at the published input geometry; models with another input size get
    that window resized to their size.
    """
    noise = WindowNoise() if augment else WindowNoise.none()
    channels = {view: [item.channels(with_heatmaps) for item in prepared[view]] for view in VIEWS}
    for _ in range(n_passes):
        windows, traces = {}, {}
        for view in VIEWS:
            kind = view_kind(view)
            # With one image per view randint(0, 1) consumes nothing, exactly as published.
            index = int(stream.randint(0, len(prepared[view]))) if augment else 0
            windows[view], traces[view] = make_window(
                channels[view][index],
                kind,
                prepared[view][index].best_center,
                INPUT_SIZES[kind],
                stream,
                noise,
                output_size=output_sizes[kind],
            )
        yield windows, traces


def predict(
    exam: Exam,
    model: Any,
    *,
    heatmap_model: Any = None,
    tta: int = 1,
    seed: int = 0,
    rng: RandomStreams | np.random.RandomState | None = None,
    return_heatmaps: bool = False,
    device: str | torch.device | None = None,
    autocast: str | None = None,
    batch_size: int = DEFAULT_PATCH_BATCH,
    heatmap_mode: str = "exact",
    patch_progress: Callable[[int], None] | None = None,
) -> PredictionResult:
    """Predict left/right benign/malignant probabilities for one exam.

    model: the view-wise model (a `classifier.weights.LoadedModel` or a `ViewWiseModel`).
    heatmap_model: the DenseNet-121 patch model; required when `model` takes 3 channels, and
        used for `return_heatmaps` with an image-only model.
    tta: 1 = the published run without augmentation (one deterministic pass); N > 1 = N passes
        of the published test-time augmentation, averaged in probability space.
    seed / rng: the random streams (see the module docstring); `rng` overrides `seed` and is
        advanced in place. A bare RandomState is used for the windows, with a fresh
        `random.Random(seed)` for the patch grid.
    device: None picks the model's device; otherwise the models are moved there. Both models
        are put in eval mode.
    autocast: None/"fp32" (exact), "bf16" or "fp16" (CUDA only).
    batch_size: patches per DenseNet batch in the heatmap stage.
    heatmap_mode: "exact" (published) or "fast" (approximate, see classifier.heatmaps).
    """
    if tta < 1:
        raise ValueError(f"tta must be at least 1, got {tta}")
    module, metadata = _unwrap(model)
    in_channels = getattr(model, "in_channels", None) or getattr(module, "in_channels", None)
    if in_channels not in (1, 3):
        raise ValueError(f"expected a view-wise model with 1 or 3 input channels, got {in_channels!r}")
    patch_module = _unwrap(heatmap_model)[0] if heatmap_model is not None else None
    all_given = all(image.heatmaps is not None for view in VIEWS for image in exam.images[view])
    if in_channels == 3 and patch_module is None and not all_given:
        raise ValueError("this model takes image and heatmap channels: pass heatmap_model (the patch classifier)")
    if return_heatmaps and patch_module is None and not all_given:
        raise ValueError("return_heatmaps needs heatmap_model (the patch classifier)")

    target = _model_device(module) if device is None else choose_device(device)
    module.to(target).eval()
    if patch_module is not None:
        patch_module.to(target).eval()
    streams = _streams(rng, seed)
    need_heatmaps = in_channels == 3 or return_heatmaps

    with torch.inference_mode():
        prepared = prepare_exam(
            exam,
            patch_module if need_heatmaps else None,
            streams.patches,
            heatmap_mode=heatmap_mode,
            batch_size=batch_size,
            progress=patch_progress,
        )
        passes = []
        sums = np.zeros(len(LABELS), dtype=np.float64)
        windows_iter = iterate_windows(
            prepared, streams.windows, tta, tta > 1, in_channels == 3, model_input_sizes(metadata)
        )
        for windows, traces in windows_iter:
            inputs = {view: torch.from_numpy(windows[view])[None].to(target) for view in VIEWS}
            with autocast_context(target, autocast):
                outputs = module(inputs)
            outputs = {head: value.float() for head, value in outputs.items()}
            sums += viewwise_probabilities(outputs)[0].double().cpu().numpy()
            heads = {head: outputs[head][0, :, 1].exp().cpu().tolist() for head in ("CC", "MLO")}
            passes.append(PassRecord(traces, heads))

    mean = sums / tta
    result = PredictionResult(exam.exam_id, *(float(value) for value in mean), passes=passes)
    result.best_centers = {view: [item.best_center for item in prepared[view]] for view in VIEWS}
    if return_heatmaps:
        result.heatmaps = {
            view: [_stored_orientation(item.heatmaps, view, exam.horizontal_flip) for item in prepared[view]]
            for view in VIEWS
        }
    return result


def predict_many(
    exams: Iterable[Exam],
    model: Any,
    *,
    seed: int = 0,
    rng: RandomStreams | None = None,
    **options: Any,
) -> Iterator[PredictionResult]:
    """predict() for each exam in order, carrying the random streams across exams as published."""
    streams = rng if rng is not None else RandomStreams.from_seed(seed)
    for exam in exams:
        yield predict(exam, model, rng=streams, **options)


def _stored_orientation(heatmaps: Heatmaps, view: str, horizontal_flip: str) -> Heatmaps:
    return heatmaps.mirrored() if needs_mirror(view, horizontal_flip) else heatmaps


def _streams(rng: RandomStreams | np.random.RandomState | None, seed: int) -> RandomStreams:
    if rng is None:
        return RandomStreams.from_seed(seed)
    if isinstance(rng, RandomStreams):
        return rng
    if isinstance(rng, np.random.RandomState):
        return RandomStreams(rng, random.Random(seed))
    raise TypeError(f"rng must be a RandomStreams or a numpy RandomState, got {type(rng).__name__}")


def _model_device(module: nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
