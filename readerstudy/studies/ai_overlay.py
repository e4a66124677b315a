"""What the AI-aided arm shows a reader: the model's output for the exam on screen.

`ai_overlay(assignment, exam_id)` is the viewer's `ai_overlay` value. It is None, always, unless
the assignment's arm is the AI-aided one, a model run is attached to that arm (`Arm.model_run`),
the exam belongs to the assignment and the assignment is open for reading now: the unaided arm
never learns that model output exists, and in a crossover a reader cannot look at the AI arm's
output before that arm opens (while still reading the same exams unaided, or during the washout).
Otherwise it holds the per-breast probabilities and, per view, the URLs of the heatmap overlays
(8-bit PNGs covering the stored image; see heatmaps.py), each served by `heatmap_file` only to the
reader of that assignment.
"""
from __future__ import annotations

from django.urls import reverse

from readerstudy.predictions.heatmaps import CLASSES
from readerstudy.predictions.models import Prediction
from readerstudy.studies import sessions
from readerstudy.studies.models import Arm


def overlay_run(assignment):
    """The run whose output this assignment may show, or None (unaided arm, or no run attached)."""
    arm = assignment.arm
    if arm.kind != Arm.Kind.AI_AIDED or arm.model_run_id is None:
        return None
    if not sessions.arm_status(assignment).is_open:
        return None
    return arm.model_run


def ai_overlay(assignment, exam_id: int) -> dict | None:
    run = overlay_run(assignment)
    if run is None or exam_id not in assignment.case_order:
        return None
    version = run.model_version
    overlay = {
        "exam": exam_id,
        "run": run.pk,
        "model": version.name,
        "demonstration": version.demonstration,
        "available": False,
        "malignant": None,
        "benign": None,
        "views": {},
        "urls": {"self": reverse("reader:overlay", args=[assignment.pk, exam_id])},
    }
    prediction = Prediction.objects.filter(run=run, exam_id=exam_id).first()
    if prediction is None:
        overlay["message"] = "The model has no output for this exam."
        return overlay
    overlay["available"] = True
    overlay["malignant"] = {"left": prediction.left_malignant, "right": prediction.right_malignant}
    overlay["benign"] = {"left": prediction.left_benign, "right": prediction.right_benign}
    for view, stored in sorted((prediction.heatmaps or {}).items()):
        overlay["views"][view] = {
            "width": stored["width"],
            "height": stored["height"],
            **{kind: reverse("reader:overlay-heatmap", args=[assignment.pk, exam_id, view, kind])
               for kind in CLASSES if stored.get(kind)},
        }
    return overlay


def heatmap_path(assignment, exam_id: int, view: str, kind: str) -> str | None:
    """The stored overlay file the assignment may show, relative to MEDIA_ROOT, or None."""
    run = overlay_run(assignment)
    if run is None or exam_id not in assignment.case_order or kind not in CLASSES:
        return None
    prediction = Prediction.objects.filter(run=run, exam_id=exam_id).only("heatmaps").first()
    if prediction is None:
        return None
    return (prediction.heatmaps or {}).get(view, {}).get(kind)
