"""Separation of duties, the frozen protocol and its amendments, and what an arm's run must be."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from readerstudy.audit.models import AuditEvent
from readerstudy.predictions.models import ModelRun
from readerstudy.studies import lifecycle, memberships, reading_sets
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Arm, Membership, ProtocolAmendment
from tests.studies.factories import completed_run, make_exams, make_study

pytestmark = pytest.mark.django_db


def test_nobody_is_a_reader_and_coordinator_or_statistician_of_one_study(people):
    coordinator = people["coordinator"]
    study = make_study(coordinator, exams=2, readers=[people["reader_a"]], statisticians=[people["statistician"]])
    for user, role in ((people["reader_a"], "statistician"), (people["reader_a"], "coordinator"),
                       (people["statistician"], "reader"), (coordinator, "reader")):
        with pytest.raises(Conflict, match="nobody is both"):
            memberships.add_member(study, user, role, coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
        Membership.objects.create(study=study, user=people["reader_a"], role="statistician")
    # ... but one person may read in one study and coordinate another.
    other = make_study(people["coordinator"], name="Other", exams=1, readers=[people["statistician"]])
    assert Membership.objects.get(study=other, user=people["statistician"]).role == "reader"


def test_opening_freezes_the_protocol_and_changes_become_amendments(people):
    coordinator = people["coordinator"]
    study = make_study(coordinator, exams=2, readers=[people["reader_a"]], status="draft", washout_days=7)
    lifecycle.update_study(study, coordinator, {"washout_days": 10})  # a draft changes freely
    assert study.protocol_version == 0 and not ProtocolAmendment.objects.exists()
    lifecycle.open_study(study, coordinator)
    assert study.protocol_version == 1 and study.opened_at is not None

    with pytest.raises(ValidationError, match="reason"):
        lifecycle.update_study(study, coordinator, {"washout_days": 21})
    lifecycle.update_study(study, coordinator, {"washout_days": 21, "hybrid_lambda": 0.6}, reason="Ethics board asked for a longer washout")
    study.refresh_from_db()
    assert (study.washout_days, study.hybrid_lambda, study.protocol_version) == (21, 0.6, 2)
    amendment = ProtocolAmendment.objects.get(study=study)
    assert amendment.version == 2 and amendment.by == coordinator and amendment.reason.startswith("Ethics")
    assert amendment.changes == {"washout_days": {"old": 10, "new": 21}, "hybrid_lambda": {"old": 0.5, "new": 0.6}}
    event = AuditEvent.objects.get(action="study.updated", details__changes__washout_days__new=21)
    assert event.details["changes"]["washout_days"] == {"old": 10, "new": 21}
    for frozen in ({"unit": "exam"}, {"seed": 5}, {"sequence_design": "unaided_first"}, {"split_cases": True}):
        with pytest.raises(Conflict, match="cannot change"):
            lifecycle.update_study(study, coordinator, frozen, reason="try")
    with pytest.raises(Conflict, match="frozen protocol"):
        reading_sets.create_reading_set(study, coordinator, name="late", exam_ids=[e.pk for e in make_exams(1, prefix="L")])
    lifecycle.update_study(study, coordinator, {"description": "not protocol"})  # audited, not an amendment
    assert ProtocolAmendment.objects.filter(study=study).count() == 1


def test_an_arm_needs_a_completed_run_over_every_exam_with_exact_heatmaps(people):
    coordinator = people["coordinator"]
    study = lifecycle.create_study(coordinator, name="Runs", seed=3)
    exams = make_exams(3, prefix="R")
    reading_sets.create_reading_set(study, coordinator, name="S", exam_ids=[e.pk for e in exams])
    arm = study.arms.get(kind=Arm.Kind.AI_AIDED)
    with pytest.raises(Conflict, match="no model run"):
        lifecycle.open_study(study, coordinator)
    failed = completed_run([e.pk for e in exams], name="failed")
    ModelRun.objects.filter(pk=failed.pk).update(status=ModelRun.Status.FAILED)
    partial = completed_run([e.pk for e in exams[:2]], name="partial")
    fast = completed_run([e.pk for e in exams], name="fast", options={"heatmaps": True, "heatmap_mode": "fast"})
    good = completed_run([e.pk for e in exams], name="good", options={"heatmaps": True, "heatmap_mode": "exact"})
    for run, problem in ((failed, "not completed"), (partial, "no prediction for 1 exam"), (fast, "fast")):
        failed.refresh_from_db()
        lifecycle.configure_arm(arm, coordinator, model_run=run)  # a draft may point anywhere for now...
        with pytest.raises(Conflict, match=problem):  # ... but cannot open on it
            lifecycle.open_study(study, coordinator)
    lifecycle.configure_arm(arm, coordinator, model_run=good)
    lifecycle.open_study(study, coordinator)
    # Once open, a change of run is an amendment, and still only to a usable run.
    with pytest.raises(ValidationError, match="fast"):
        lifecycle.configure_arm(arm, coordinator, model_run=fast, reason="try")
    better = completed_run([e.pk for e in exams], name="better")
    lifecycle.configure_arm(arm, coordinator, model_run=better, reason="Retrained model")
    amendment = ProtocolAmendment.objects.get(study=study)
    assert amendment.changes == {"ai_aided.model_run": {"old": good.pk, "new": better.pk}}
    study.refresh_from_db()
    assert study.protocol_version == 2
