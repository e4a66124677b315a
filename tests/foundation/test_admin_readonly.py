"""Study-critical models are read-only in the Django admin: a site administrator sees them (list
and change pages) but cannot add, change or delete them there; every change goes through the
services and the audit trail. Readers' answers stay out of the admin while a study is blinded."""
import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from readerstudy.audit.admin import ReadOnlyAdmin, ReadOnlyInline
from readerstudy.exams.models import (
    BreastTruth,
    BreastTruthRevision,
    Exam,
    IdentifierMap,
    Image,
    TruthVersion,
)
from readerstudy.exams.truth import import_truth
from readerstudy.studies import lifecycle, submission
from readerstudy.studies.models import (
    Arm,
    Assignment,
    Membership,
    ProtocolAmendment,
    Reading,
    ReadingRevision,
    ReadingSet,
    ReadingSetExam,
    Study,
    Unblinding,
)
from tests.studies.factories import answers, first_session, make_account, make_exams, make_study

pytestmark = pytest.mark.django_db

READ_ONLY_MODELS = [
    Study, Arm, ReadingSet, ReadingSetExam, Assignment, Reading, ReadingRevision, Membership, Unblinding,
    ProtocolAmendment, Exam, Image, BreastTruth, TruthVersion, BreastTruthRevision, IdentifierMap,
]


@pytest.fixture
def objects():
    """One row of every read-only model, made by the services where there is one."""
    coordinator = make_account("coord", "coordinator")
    reader = make_account("reader1")
    exams = make_exams(4, prefix="ADM", images=True)
    study = make_study(coordinator, name="Admin study", exams=exams, readers=[reader], status="open")
    assignment = first_session(study, reader)[0]
    submission.submit(assignment, assignment.case_order[0], answers(probability=73.5), client_key="admin-1")
    lifecycle.update_study(study, coordinator, {"washout_days": 7}, reason="longer washout")
    IdentifierMap.objects.create(exam=exams[0], original_patient_id="P-1", original_accession_number="ACC-1")
    label = exams[1].label
    import_truth(f"exam_id,side,malignant,benign,source\n{label},L,1,0,biopsy\n", user=coordinator, reason="revised")
    other = make_study(coordinator, name="Unblinded study", exams=2, readers=[make_account("reader2")], status="open")
    lifecycle.unblind(other, coordinator, "interim safety look")
    superuser = make_account("root", is_staff=True, is_superuser=True)
    return {"study": study, "coordinator": coordinator, "superuser": superuser}


def _admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_listed_model_uses_the_read_only_admin_and_inlines():
    for model in READ_ONLY_MODELS:
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ReadOnlyAdmin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, ReadOnlyInline), (model, inline)


def test_a_superuser_views_but_cannot_add_change_or_delete(client, objects):
    client.force_login(objects["superuser"])
    for model in READ_ONLY_MODELS:
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"no {model.__name__} made"
        assert client.get(_admin_url(model, "changelist")).status_code == 200, model
        change_url = _admin_url(model, "change", obj.pk)
        response = client.get(change_url)
        assert response.status_code == 200, model
        assert b'name="_save"' not in response.content, model  # shown read-only, no save button
        assert client.get(_admin_url(model, "add")).status_code == 403, model
        assert client.get(_admin_url(model, "delete", obj.pk)).status_code == 403, model

        before = model_to_dict(obj)
        data = {name: "" for name in before}
        data.update({"_save": "Save", "reason": "edited in the admin", "malignant": "on", "status": "closed",
                     "name": "Renamed", "left_probability": "1", "number": "99"})
        assert client.post(change_url, data).status_code == 403, model
        obj.refresh_from_db()
        assert model_to_dict(obj) == before, model
        count = model.objects.count()
        assert client.post(_admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403, model
        assert model.objects.count() == count, model


def test_no_bulk_delete_action_on_the_changelists(client, objects):
    client.force_login(objects["superuser"])
    for model in READ_ONLY_MODELS:
        count = model.objects.count()
        ids = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
        response = client.post(_admin_url(model, "changelist"),
                               {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
        assert response.status_code in (200, 302, 403), model
        assert model.objects.count() == count, model


def test_answers_are_left_out_of_the_admin_while_the_study_is_blinded(client, objects):
    client.force_login(objects["superuser"])
    reading = Reading.objects.get(assignment__arm__study=objects["study"])
    revision = ReadingRevision.objects.get(reading=reading)
    pages = [_admin_url(Reading, "change", reading.pk), _admin_url(ReadingRevision, "change", revision.pk),
             _admin_url(ReadingRevision, "changelist"), _admin_url(Reading, "changelist")]
    for url in pages:
        assert b"73.5" not in client.get(url).content, url
    lifecycle.unblind(objects["study"], objects["coordinator"], "interim safety look")
    assert b"73.5" in client.get(pages[0]).content and b"73.5" in client.get(pages[1]).content
