"""Builders for the predictions tests: phantom exams stored the way ingest stores them, a tiny model.

A model run is a run over a list of exams; tests that need a study use tests/studies/factories.py.

Images get only what the model bridge reads: the geometry on the Image row and the pixel
derivative (gzip-compressed byte planes, see readerstudy/exams/derivatives.py).
"""
from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile

from readerstudy.exams import phantoms
from readerstudy.exams.derivatives import pixel_planes_gzip
from readerstudy.exams.models import VIEWS, Exam, Image

PHANTOM_SIZE = (480, 384)  # rows, columns: big enough for the crop's 100 erosions, small enough to be quick
TINY_INPUT_SIZE = {"CC": [192, 144], "MLO": [192, 128]}


def make_exam(index: int, *, seed: int = 7, size=PHANTOM_SIZE, corrupt_view: str | None = None) -> Exam:
    phantom = phantoms.make_exam(index, size=size, seed=seed)
    exam = Exam.objects.create(label=f"{phantom.exam_id}", source=Exam.Source.DICOM)
    for view in VIEWS:
        pixels = phantom.views[view]
        image = Image(exam=exam, view=view, sop_instance_uid=f"2.25.{seed}.{index}.{VIEWS.index(view)}",
                      rows=pixels.shape[0], columns=pixels.shape[1], bits_stored=12,
                      pixel_min=int(pixels.min()), pixel_max=int(pixels.max()))
        content = b"this is not gzip-compressed pixel data" if view == corrupt_view else pixel_planes_gzip(pixels)
        image.pixels_file.save(f"{exam.label}-{view}.planes.gz", ContentFile(content), save=False)
        image.save()
    return exam


def write_tiny_model(path: Path, *, seed: int = 0) -> Path:
    """A view-wise image-only network with random weights in our checkpoint format, at a tiny input size.

    Random weights give meaningless probabilities: these files exist only to exercise the machinery.
    """
    import torch

    from classifier.networks import ViewWiseModel
    from classifier.weights import save_checkpoint

    torch.manual_seed(seed)
    save_checkpoint(path, ViewWiseModel(1), architecture="viewwise-resnet22", variant="image_only",
                    version=f"test-random-{seed}", demonstration=True,
                    extra_metadata={"input_size": TINY_INPUT_SIZE, "note": "random weights for tests"})
    return path


def write_patch_model(path: Path, *, seed: int = 0) -> Path:
    import torch

    from classifier.networks import PatchDenseNet121
    from classifier.weights import save_checkpoint

    torch.manual_seed(seed)
    save_checkpoint(path, PatchDenseNet121(), architecture="densenet121-patch", variant="patch",
                    version=f"test-random-{seed}", demonstration=True)
    return path
