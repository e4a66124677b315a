"""The reader's pages and JSON endpoints: worklist, viewer context, draft autosave, idempotent
submit, validation messages, and what another reader (or a non-reader) can never reach."""
import json
import re

import pytest
from django.urls import reverse

from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Reading, ReadingRevision
from tests.studies.factories import answers, make_exams, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(people):
    exams = make_exams(4, prefix="RD", images=True)
    return make_study(people["coordinator"], exams=exams, readers=[people["reader_a"], people["reader_b"]],
                      statisticians=[people["statistician"]], sequence_design="unaided_first")


@pytest.fixture
def assignment(study, people):
    return people["reader_a"].assignments.get(session=1)


@pytest.fixture
def reader(client, people):
    client.force_login(people["reader_a"])
    return client


def urls(assignment, exam_id):
    return {
        "page": reverse("reader:viewer", args=[assignment.pk, exam_id]),
        "context": reverse("api-viewer-context", args=[assignment.pk, exam_id]),
        "draft": reverse("api-viewer-draft", args=[assignment.pk, exam_id]),
        "submit": reverse("api-viewer-submit", args=[assignment.pk, exam_id]),
    }


def put(client, url, payload):
    return client.put(url, json.dumps(payload), content_type="application/json")


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def page_context(response) -> dict:
    match = re.search(rb'<script id="viewer-config" type="application/json">(.*?)</script>', response.content, re.S)
    assert match, "the viewer page embeds no context"
    return json.loads(match.group(1))


def test_worklist_lists_only_the_readers_own_assignments_with_progress(reader, assignment, people):
    exam_id = assignment.case_order[0]
    reader.get(urls(assignment, exam_id)["page"])
    assert post(reader, urls(assignment, exam_id)["submit"], {**answers(), "client_key": "w1"}).status_code == 200
    page = reader.get(reverse("reader:worklist"))
    assert page.status_code == 200
    rows = re.findall(rb'data-assignment="(\d+)"', page.content)
    own = {str(a.pk).encode() for a in people["reader_a"].assignments.all()}
    assert set(rows) == own and len(rows) == 2
    assert b"1 of 4" in page.content and b"0 of 4" in page.content
    assert b"reader_b" not in page.content


def test_continue_opens_the_next_unread_exam_in_the_stored_order(reader, assignment):
    order = assignment.case_order
    continue_url = reverse("reader:continue", args=[assignment.pk])
    assert reader.get(continue_url)["Location"] == urls(assignment, order[0])["page"]
    for exam_id in order[:2]:
        assert post(reader, urls(assignment, exam_id)["submit"], {**answers(), "client_key": f"c{exam_id}"}).status_code == 200
    assert reader.get(continue_url)["Location"] == urls(assignment, order[2])["page"]
    for exam_id in order[2:]:
        post(reader, urls(assignment, exam_id)["submit"], {**answers(), "client_key": f"c{exam_id}"})
    finished = reader.get(continue_url)
    assert finished["Location"] == reverse("reader:worklist")


def test_viewer_page_carries_images_and_next_exam_but_no_truth_or_model_output(reader, assignment):
    order = assignment.case_order
    response = reader.get(urls(assignment, order[1])["page"])
    assert response.status_code == 200
    context = page_context(response)
    assert context["exam"]["id"] == order[1] and context["exam"]["position"] == 2
    assert [i["view"] for i in context["exam"]["images"]] == ["R-CC", "L-CC", "R-MLO", "L-MLO"]
    image = context["exam"]["images"][0]
    assert image["pixels"] == f"/exams/images/{image['id']}/pixels" and image["header"].endswith("/header")
    # The header inline is the header endpoint's JSON.
    assert image["header_data"] == reader.get(image["header"]).json()
    assert context["next"]["exam"]["id"] == order[2]
    assert context["assignment"] == {"id": assignment.pk, "study": assignment.arm.study.name, "arm": "unaided", "session": 1, "done": 0, "total": 4}
    assert context["ai_overlay"] is None
    text = json.dumps(context).lower()
    for forbidden in ("malignant", "benign", "truth", "prediction", "heatmap", "model"):
        assert forbidden not in text
    reading = Reading.objects.get(assignment=assignment, exam_id=order[1])
    assert reading.status == "draft" and reading.first_shown_at is not None


def test_draft_autosave_round_trip_and_partial_answers(reader, assignment):
    u = urls(assignment, assignment.case_order[0])
    reader.get(u["page"])
    saved = put(reader, u["draft"], {"left_probability": 12.5, "right_probability": None, "left_birads": 2, "right_birads": None})
    assert saved.status_code == 200, saved.content
    assert saved.json()["left_probability"] == 12.5 and saved.json()["status"] == "draft"
    restored = reader.get(u["draft"]).json()
    assert (restored["left_probability"], restored["right_probability"], restored["left_birads"]) == (12.5, None, 2)
    # A reload shows the draft in the page context too.
    assert page_context(reader.get(u["page"]))["reading"]["left_birads"] == 2
    assert AuditEvent.objects.filter(action="reading.draft_started").count() == 1
    put(reader, u["draft"], {"left_probability": 20})
    assert AuditEvent.objects.filter(action="reading.draft_started").count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"left_probability": 101}, "left_probability", "The probability must lie between 0 and 100."),
        ({"right_probability": -0.5}, "right_probability", "The probability must lie between 0 and 100."),
        ({"right_probability": "abc"}, "right_probability", "A probability between 0 and 100 is required."),
        ({"left_birads": 7}, "left_birads", "The BI-RADS category must lie between 0 and 6."),
        ({"right_birads": 2.5}, "right_birads", "A BI-RADS category is a whole number from 0 to 6."),
        ({"left_density": 3}, "left_density", "Unknown field."),
    ],
)
def test_draft_rejects_bad_values_with_precise_messages(reader, assignment, payload, field, message):
    u = urls(assignment, assignment.case_order[0])
    response = put(reader, u["draft"], payload)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: message}
    assert field in response.json()["detail"]


def test_submit_validates_every_answer(reader, assignment):
    u = urls(assignment, assignment.case_order[0])
    response = post(reader, u["submit"], {"left_probability": 150, "right_probability": 10, "left_birads": 3, "client_key": "v1"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "left_probability": "The probability must lie between 0 and 100.",
        "right_birads": "A BI-RADS category from 0 to 6 is required.",
    }
    missing_key = post(reader, u["submit"], answers())
    assert missing_key.status_code == 400 and "client_key" in missing_key.json()["errors"]
    not_json = reader.post(u["submit"], "{", content_type="application/json")
    assert not_json.status_code == 400 and not_json.json()["detail"].startswith("JSON parse error")
    assert not Reading.objects.filter(status="submitted").exists()


def test_submit_is_idempotent_records_time_and_locks(reader, assignment):
    u = urls(assignment, assignment.case_order[0])
    reader.get(u["page"])
    first = post(reader, u["submit"], {**answers(30, 4), "client_key": "key-1"})
    assert first.status_code == 200, first.content
    retry = post(reader, u["submit"], {**answers(30, 4), "client_key": "key-1"})
    assert retry.status_code == 200 and retry.json() == first.json()
    body = first.json()
    assert body["status"] == "submitted" and body["progress"] == {"done": 1, "total": 4}
    assert body["submitted_at"] >= body["first_shown_at"] and body["duration_ms"] >= 0
    assert Reading.objects.filter(assignment=assignment).count() == 1
    assert ReadingRevision.objects.count() == 1
    assert AuditEvent.objects.filter(action="reading.submitted").count() == 1
    # Locked: a new key is a second submission, a draft save is refused.
    again = post(reader, u["submit"], {**answers(90, 5), "client_key": "key-2"})
    assert again.status_code == 409 and "amend" in again.json()["detail"]
    locked = put(reader, u["draft"], {"left_probability": 90})
    assert locked.status_code == 409 and locked.json()["detail"] == "This reading is submitted and locked."
    assert Reading.objects.get(assignment=assignment).left_probability == 30


def test_other_readers_reading_is_not_found(client, assignment, people):
    exam_id = assignment.case_order[0]
    u = urls(assignment, exam_id)
    client.force_login(people["reader_a"])
    post(client, u["submit"], {**answers(), "client_key": "a-1"})
    reading = Reading.objects.get(assignment=assignment, exam_id=exam_id)
    client.force_login(people["reader_b"])
    for response in (
        client.get(u["page"]),
        client.get(u["context"]),
        client.get(u["draft"]),
        put(client, u["draft"], {"left_probability": 1}),
        post(client, u["submit"], {**answers(), "client_key": "b-1"}),
        client.get(reverse("reader:continue", args=[assignment.pk])),
        client.get(reverse("api-reading-detail", args=[reading.pk])),
    ):
        assert response.status_code == 404
    listing = client.get(reverse("api-reading-list")).json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    assert reading.pk not in [row["id"] for row in rows]
    assert Reading.objects.get(pk=reading.pk).left_probability == 50


def test_exams_outside_the_assignment_are_not_found(reader, assignment):
    stranger = make_exams(1, prefix="OUT", images=True)[0]
    u = urls(assignment, stranger.pk)
    assert reader.get(u["page"]).status_code == 404
    assert put(reader, u["draft"], {"left_probability": 1}).status_code == 404
    assert post(reader, u["submit"], {**answers(), "client_key": "o-1"}).status_code == 404


def test_non_readers_are_forbidden(client, assignment, people):
    client.force_login(people["coordinator"])
    assert client.get(reverse("reader:worklist")).status_code == 403
    response = client.get(urls(assignment, assignment.case_order[0])["context"])
    assert response.status_code == 404  # not the coordinator's assignment: as if it did not exist


def test_a_closed_arm_refuses_reading(reader, assignment, people):
    from readerstudy.studies import lifecycle

    lifecycle.close_study(assignment.arm.study, people["coordinator"])
    u = urls(assignment, assignment.case_order[0])
    response = put(reader, u["draft"], {"left_probability": 5})
    assert response.status_code == 403 and response.json()["detail"] == "The study is closed."
    assert reader.get(u["page"]).status_code == 403
    assert b"The study is closed." in reader.get(reverse("reader:worklist")).content


def test_pages_and_endpoints_need_a_login(client, assignment):
    u = urls(assignment, assignment.case_order[0])
    for url in (reverse("reader:worklist"), u["page"]):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(u["context"]).status_code in (401, 403)  # the API answers instead of redirecting


@pytest.fixture
def prediction(study, assignment):
    """The AI-aided arm's run, with telling values for the first exam."""
    from readerstudy.predictions.models import Prediction

    run = study.arms.get(kind="ai_aided").model_run
    Prediction.objects.filter(run=run, exam_id=assignment.case_order[0]).update(
        left_benign=0.1, right_benign=0.2, left_malignant=0.9, right_malignant=0.05)
    return Prediction.objects.get(run=run, exam_id=assignment.case_order[0])


def test_a_reader_cannot_reach_ground_truth_or_model_output(client, study, assignment, prediction, people):
    exam_id = assignment.case_order[0]
    truth_and_model = [
        reverse("exams:truth-upload"),
        reverse("analysis:study", args=[study.pk]),
        reverse("analysis:ratings-export", args=[study.pk]),
        reverse("api-study-analysis", args=[study.pk]),
        reverse("api-study-ratings", args=[study.pk]),
        reverse("predictions:run", args=[prediction.run.pk]),
        reverse("api-model-run-detail", args=[prediction.run.pk]),
        reverse("api-model-run-list"),
        reverse("reader:overlay", args=[assignment.pk, exam_id]),  # the unaided arm
    ]
    # The endpoints are real: once the study is unblinded, its statistician reaches the truth-bearing
    # exports and the runs.
    from readerstudy.studies import lifecycle

    lifecycle.unblind(study, people["coordinator"], "interim analysis")
    client.force_login(people["statistician"])
    assert client.get(reverse("analysis:ratings-export", args=[study.pk])).status_code == 200
    assert client.get(reverse("api-model-run-detail", args=[prediction.run.pk])).status_code == 200
    client.force_login(people["reader_a"])
    for url in truth_and_model:
        status = client.get(url).status_code
        assert status in (403, 404), f"{url} answered {status} to a reader"
    # Nor does the reader's own viewer context carry any of it.
    context = client.get(urls(assignment, exam_id)["context"]).json()
    assert context["ai_overlay"] is None
    text = json.dumps(context).lower()
    assert not [word for word in ("malignant", "benign", "truth", "prediction") if word in text]
    numbers = []

    def walk(value):
        if isinstance(value, dict):
            [walk(v) for v in value.values()]
        elif isinstance(value, list):
            [walk(v) for v in value]
        elif isinstance(value, float):
            numbers.append(value)

    walk(context)
    assert not {0.9, 0.05, 0.1, 0.2} & set(numbers)
