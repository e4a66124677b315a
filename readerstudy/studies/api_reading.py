"""The reader's JSON endpoints behind the viewer: the exam context, draft autosave, submit.

Every endpoint answers only for the requesting reader's own assignment (another reader's is a
404, as if it did not exist) and only for exams in that assignment. Nothing here carries ground
truth, other readers' answers or model output: `ai_overlay` stays null in every arm until the
AI-aided arm's display is wired in (its value: readerstudy.predictions.overlay.ai_overlay).
"""
import functools
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from readerstudy import audit
from readerstudy.accounts import roles
from readerstudy.exams.models import Exam, Image
from readerstudy.predictions.overlay import ai_overlay
from readerstudy.exams.pixels import image_header_payload
from readerstudy.studies import crossover, submission
from readerstudy.studies.access import assignment_for_reader
from readerstudy.studies.answers import ANSWER_FIELDS, BIRADS_FIELDS, clean_answers
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Reading

HANGING_ORDER = {"R-CC": 0, "L-CC": 1, "R-MLO": 2, "L-MLO": 3}


def error(status: int, detail: str, errors: dict | None = None) -> JsonResponse:
    body = {"detail": detail}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def reader_assignment(request, assignment_id):
    """The requesting reader's assignment (404 for anyone else's); PermissionDenied for non-readers."""
    if not roles.is_reader(request.user):
        raise PermissionDenied("Only readers read exams.")
    return assignment_for_reader(request.user, assignment_id)


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
        "draft": reverse("reader:api-draft", args=[assignment.pk, exam_id]),
        "submit": reverse("reader:api-submit", args=[assignment.pk, exam_id]),
        "worklist": reverse("reader:worklist"),
    }
    return {
        "assignment": {"id": assignment.pk, "study": assignment.arm.study.name, "arm": assignment.arm.kind, **progress_of(assignment, done)},
        "exam": exam_spec(assignment, exam_id),
        "reading": reading_json(reading),
        "urls": urls,
        "next": None if following is None else {
            "exam": exam_spec(assignment, following),
            "context": reverse("reader:api-context", args=[assignment.pk, following]),
            "page": reverse("reader:viewer", args=[assignment.pk, following]),
        },
        "ai_overlay": ai_overlay(assignment, exam_id),
    }


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    return body


def clean_draft(data: dict) -> dict:
    """The answers given so far: each field may be null, but a given value must be valid."""
    unknown = sorted(set(data) - set(ANSWER_FIELDS))
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    given = {field: data[field] for field in ANSWER_FIELDS if data.get(field) is not None}
    try:
        clean_answers(given)
    except ValidationError as invalid:
        errors = {field: messages for field, messages in invalid.message_dict.items() if field in given}
        if errors:
            raise ValidationError(errors) from None
    return {
        field: None if field not in given else int(given[field]) if field in BIRADS_FIELDS else float(given[field])
        for field in ANSWER_FIELDS
    }


def save_draft(assignment, exam_id: int, data: dict, request=None) -> Reading:
    cleaned = clean_draft(data)
    crossover.require_open(assignment)
    reading = submission.open_reading(assignment, exam_id)
    with transaction.atomic():
        reading = Reading.objects.select_for_update().get(pk=reading.pk)
        if reading.status == Reading.Status.SUBMITTED:
            raise Conflict("This reading is submitted and locked.")
        first_save = all(getattr(reading, field) is None for field in ANSWER_FIELDS)
        for field, value in cleaned.items():
            setattr(reading, field, value)
        reading.save(update_fields=[*ANSWER_FIELDS, "updated_at"])
    if first_save:
        # One event per reading, not per keystroke; the values stay out of the trail.
        audit.record(assignment.reader, "reading.draft_started", reading, study=assignment.arm.study_id,
                     request=request, exam=exam_id, assignment=assignment.pk)
    return reading


def json_endpoint(view):
    """Maps the services' exceptions to JSON errors with precise messages."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ValidationError as invalid:
            if hasattr(invalid, "error_dict"):
                errors = {field: " ".join(messages) for field, messages in invalid.message_dict.items()}
                return error(400, " ".join(f"{field}: {message}" for field, message in errors.items()), errors)
            return error(400, " ".join(invalid.messages))
        except PermissionDenied as denied:
            return error(403, str(denied) or "Permission denied.")
        except Http404 as missing:
            return error(404, str(missing) or "Not found.")
        except Conflict as conflict:
            return error(409, str(conflict))

    return wrapper


@require_http_methods(["GET"])
@json_endpoint
def context(request, assignment_id, exam_id):
    """The exam context of the viewer (used when moving to the next exam in place)."""
    assignment = reader_assignment(request, assignment_id)
    crossover.require_open(assignment)
    return JsonResponse(exam_context(assignment, exam_id))


@require_http_methods(["GET", "PUT"])
@json_endpoint
def draft(request, assignment_id, exam_id):
    """GET: the reading as stored. PUT: replace the draft answers (null = not answered yet)."""
    assignment = reader_assignment(request, assignment_id)
    crossover.require_open(assignment)
    if request.method == "GET":
        if exam_id not in assignment.case_order:
            raise Http404("This exam is not part of the assignment.")
        reading = Reading.objects.filter(assignment=assignment, exam_id=exam_id).first()
        if reading is None:
            raise Http404("This exam has not been opened yet.")
        return JsonResponse(reading_json(reading))
    reading = save_draft(assignment, exam_id, _json_body(request), request=request)
    return JsonResponse(reading_json(reading))


@require_http_methods(["POST"])
@json_endpoint
def submit(request, assignment_id, exam_id):
    """Submit and lock the reading. A retry with the same client_key gets the same answer and
    stores nothing new."""
    assignment = reader_assignment(request, assignment_id)
    body = _json_body(request)
    reading, _created = submission.submit(assignment, exam_id, body, client_key=body.get("client_key"), request=request)
    return JsonResponse(reading_json(reading, progress_of(assignment)))

