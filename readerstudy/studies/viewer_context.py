"""What the viewer needs to show one exam of a reader's assignment: the exam's images in hanging
order with their endpoints, the reading as stored, progress, the next exam and, in the AI-aided
arm, the model's output. Nothing here carries ground truth or other readers' answers."""
from django.urls import reverse

from readerstudy.exams.models import Exam, Image
from readerstudy.exams.pixels import image_header_payload
from readerstudy.studies import submission
from readerstudy.studies.ai_overlay import ai_overlay
from readerstudy.studies.answers import ANSWER_FIELDS
from readerstudy.studies.models import Reading

HANGING_ORDER = {"R-CC": 0, "L-CC": 1, "R-MLO": 2, "L-MLO": 3}


def submitted_exam_ids(assignment) -> set[int]:
    return set(assignment.readings.filter(status=Reading.Status.SUBMITTED).values_list("exam_id", flat=True))


def next_unread(assignment, after=None, done=None) -> int | None:
    """The first exam not yet submitted in the reader's stored order, looking after `after` first."""
    done = submitted_exam_ids(assignment) if done is None else done
    order = list(assignment.case_order)
    if after in order:
        start = order.index(after) + 1
        order = order[start:] + order[:start]
    return next((exam_id for exam_id in order if exam_id not in done and exam_id != after), None)


def image_urls(image_id: int) -> dict:
    """The exams app's endpoints of one image (they check that this reader may see it)."""
    return {kind: reverse(f"exams:image-{kind}", args=[image_id]) for kind in ("header", "preview", "pixels")}


def exam_spec(assignment, exam_id: int) -> dict:
    """The exam's images in hanging order, with their endpoints and, inline, their headers (one
    round trip fewer before the first paint; the header endpoint serves the same JSON)."""
    exam = Exam.objects.get(pk=exam_id)
    images = sorted(Image.objects.filter(exam=exam), key=lambda i: HANGING_ORDER[i.view])
    return {
        "id": exam.pk,
        "label": exam.label,
        "position": assignment.case_order.index(exam.pk) + 1,
        "images": [
            {"id": i.pk, "view": i.view, **image_urls(i.pk), "header_data": image_header_payload(i)} for i in images
        ],
    }


def reading_json(reading: Reading, progress: dict | None = None) -> dict:
    body = {
        "status": reading.status,
        **{field: getattr(reading, field) for field in ANSWER_FIELDS},
        "first_shown_at": reading.first_shown_at.isoformat() if reading.first_shown_at else None,
        "submitted_at": reading.submitted_at.isoformat() if reading.submitted_at else None,
        "duration_ms": reading.duration_ms,
        "updated_at": reading.updated_at.isoformat(),
    }
    if progress is not None:
        body["progress"] = progress
    return body


def progress_of(assignment, done=None) -> dict:
    done = submitted_exam_ids(assignment) if done is None else done
    return {"done": len(done), "total": len(assignment.case_order)}


def exam_context(assignment, exam_id: int) -> dict:
    """What the viewer needs to show one exam; records the first display of the exam."""
    reading = submission.open_reading(assignment, exam_id)
    done = submitted_exam_ids(assignment)
    following = next_unread(assignment, after=exam_id, done=done)
    urls = {
        "page": reverse("reader:viewer", args=[assignment.pk, exam_id]),
        "draft": reverse("api-viewer-draft", args=[assignment.pk, exam_id]),
        "submit": reverse("api-viewer-submit", args=[assignment.pk, exam_id]),
        "worklist": reverse("reader:worklist"),
    }
    study = assignment.arm.study
    return {
        "assignment": {"id": assignment.pk, "study": study.name, "arm": assignment.arm.kind,
                       "session": assignment.session, **progress_of(assignment, done)},
        "exam": exam_spec(assignment, exam_id),
        "reading": reading_json(reading),
        "urls": urls,
        "next": None if following is None else {
            "exam": exam_spec(assignment, following),
            "context": reverse("api-viewer-context", args=[assignment.pk, following]),
            "page": reverse("reader:viewer", args=[assignment.pk, following]),
        },
        "ai_overlay": ai_overlay(assignment, exam_id),
    }
