"""Ground truth is versioned: each import that changes something makes a TruthVersion with one
append-only revision (old and new value) per new or changed breast; nothing else changes it."""
import io

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from readerstudy.audit.models import AuditEvent
from readerstudy.exams.ingest import exam_label_for
from readerstudy.exams.models import AppendOnlyError, BreastTruth, BreastTruthRevision, Exam, TruthVersion
from readerstudy.exams.truth import (
    current_truth_version,
    import_truth,
    import_truth_report,
    latest_truth_version_number,
    truth_as_of,
)

HEADER = "exam_id,side,malignant,benign,source\n"
FIRST = HEADER + "EX-A,L,1,0,biopsy\nEX-A,R,0,0,follow-up\nEX-B,L,0,1,biopsy\nEX-B,R,0,0,follow-up\n"
SECOND = FIRST.replace("EX-B,L,0,1,biopsy", "EX-B,L,1,0,biopsy")  # one breast becomes malignant


@pytest.fixture
def exams(db):
    return {label: Exam.objects.create(label=label, source=Exam.Source.DICOM) for label in ("EX-A", "EX-B")}


def current():
    return {(t.exam.label, t.side): (t.malignant, t.benign, t.source, t.version.number)
            for t in BreastTruth.objects.select_related("exam", "version")}


def test_second_import_changing_one_breast_makes_version_2_with_one_revision(exams, make_user):
    coordinator = make_user("coord", "coordinator")
    assert latest_truth_version_number() is None and current_truth_version() is None
    assert import_truth(FIRST, user=coordinator, reason="initial truth") == (4, [])
    first = TruthVersion.objects.get()
    assert (first.number, first.breasts_added, first.breasts_changed, first.breasts_unchanged) == (1, 4, 0, 0)
    assert first.created_by == coordinator and first.created_by_username == "coord" and first.reason == "initial truth"
    assert first.revisions.count() == 4 and all(r.is_new for r in first.revisions.all())

    result = import_truth_report(SECOND, user=coordinator, reason="pathology revised", source="truth-v2.csv")
    assert (result.stored, result.errors, result.added, result.changed, result.unchanged) == (4, [], 0, 1, 3)
    second = result.version
    assert second.number == 2 and latest_truth_version_number() == 2 and current_truth_version() == second
    assert (second.breasts_added, second.breasts_changed, second.breasts_unchanged) == (0, 1, 3)
    assert second.source == "truth-v2.csv" and second.reason == "pathology revised"
    revision = BreastTruthRevision.objects.get(version=second)
    assert (revision.exam.label, revision.side) == ("EX-B", "L")
    assert (revision.previous_malignant, revision.previous_benign, revision.previous_source) == (False, True, "biopsy")
    assert (revision.malignant, revision.benign, revision.source) == (True, False, "biopsy")
    assert current() == {
        ("EX-A", "L"): (True, False, "biopsy", 1), ("EX-A", "R"): (False, False, "follow-up", 1),
        ("EX-B", "L"): (True, False, "biopsy", 2), ("EX-B", "R"): (False, False, "follow-up", 1)}


def test_an_import_that_changes_nothing_makes_no_version_and_says_so(exams):
    import_truth(FIRST)
    result = import_truth_report(FIRST)
    assert result.version is None and (result.stored, result.added, result.changed, result.unchanged) == (4, 0, 0, 4)
    assert import_truth(FIRST) == (4, [])  # the callers' (stored, errors) shape
    assert TruthVersion.objects.count() == 1 and BreastTruthRevision.objects.count() == 4
    assert AuditEvent.objects.filter(action="exams.truth_import", details__version=None).count() == 2


def test_source_alone_is_a_change_and_unnamed_breasts_keep_their_truth(exams):
    import_truth(FIRST)
    result = import_truth_report(HEADER + "EX-A,R,0,0,biopsy\n")
    assert result.version.number == 2 and result.changed == 1
    assert current()[("EX-A", "R")] == (False, False, "biopsy", 2)
    assert BreastTruth.objects.count() == 4  # the three breasts not in the file are left as they were


def test_two_ids_of_one_exam_are_one_breast(db):
    exam = Exam.objects.create(label=exam_label_for("ACC-9"), source=Exam.Source.DICOM)
    stored, errors = import_truth(HEADER + f"ACC-9,L,1,0,biopsy\n{exam.label},L,0,0,biopsy\n")
    assert stored == 0 and "are the same exam" in str(errors[0]) and TruthVersion.objects.count() == 0
    assert import_truth(HEADER + f"ACC-9,L,1,0,biopsy\n{exam.label},L,1,0,biopsy\n") == (1, [])
    assert BreastTruthRevision.objects.get().exam == exam


def test_truth_as_of_an_older_version(exams):
    import_truth(FIRST)
    import_truth(SECOND)
    ids = {label: exam.pk for label, exam in exams.items()}
    v1 = truth_as_of(1)
    assert v1 == {(ids["EX-A"], "L"): True, (ids["EX-A"], "R"): False, (ids["EX-B"], "L"): False, (ids["EX-B"], "R"): False}
    assert truth_as_of(2) == {**v1, (ids["EX-B"], "L"): True}
    assert truth_as_of(2) == {(t.exam_id, t.side): t.malignant for t in BreastTruth.objects.all()}
    with pytest.raises(TruthVersion.DoesNotExist):
        truth_as_of(3)


def test_a_bad_file_stores_nothing_and_makes_no_version(exams):
    import_truth(FIRST)
    stored, errors = import_truth(SECOND + "EX-Z,L,1,0,x\n", reason="should not count")
    assert stored == 0 and "unknown exam 'EX-Z'" in str(errors[0])
    assert TruthVersion.objects.count() == 1 and BreastTruthRevision.objects.count() == 4
    assert current()[("EX-B", "L")] == (False, True, "biopsy", 1)
    assert AuditEvent.objects.filter(action="exams.truth_import").count() == 1


def test_the_audit_event_has_the_version_and_old_and_new_values(exams, make_user):
    coordinator = make_user("coord", "coordinator")
    import_truth(FIRST, user=coordinator)
    import_truth(SECOND, user=coordinator, reason="pathology revised", source="v2.csv")
    event = AuditEvent.objects.filter(action="exams.truth_import").order_by("-id").first()
    version = TruthVersion.objects.get(number=2)
    assert event.actor == coordinator and (event.object_type, event.object_id) == ("truthversion", str(version.pk))
    details = event.details
    assert (details["version"], details["added"], details["changed"], details["unchanged"]) == (2, 0, 1, 3)
    assert details["reason"] == "pathology revised" and details["source"] == "v2.csv"
    assert details["changes"] == [{
        "exam": "EX-B", "exam_id": exams["EX-B"].pk, "side": "L",
        "old": {"malignant": False, "benign": True, "source": "biopsy"},
        "new": {"malignant": True, "benign": False, "source": "biopsy"}}]
    assert details["changes_omitted"] == 0
    first = AuditEvent.objects.filter(action="exams.truth_import").order_by("id").first()
    assert first.details["version"] == 1 and len(first.details["changes"]) == 4
    assert all(change["old"] is None for change in first.details["changes"])


def test_history_is_append_only(exams):
    import_truth(FIRST)
    version, revision = TruthVersion.objects.get(), BreastTruthRevision.objects.first()
    for attempt in (lambda: version.save(), version.delete, lambda: revision.save(), revision.delete,
                    lambda: TruthVersion.objects.update(reason="x"), BreastTruthRevision.objects.all().delete):
        with pytest.raises(AppendOnlyError):
            attempt()


def _named(text: str, name: str):
    handle = io.BytesIO(text.encode())
    handle.name = name
    return handle


def test_upload_page_takes_a_reason_and_lists_the_versions(client, exams, make_user):
    client.force_login(make_user("coord", "coordinator"))
    response = client.post("/exams/truth/upload/", {"file": _named(FIRST, "first.csv"), "reason": "initial truth"})
    assert response.status_code == 200 and b"version 1 created" in response.content
    response = client.post("/exams/truth/upload/", {"file": _named(FIRST, "first.csv"), "reason": "again"})
    assert response.status_code == 200 and b"no new version was created" in response.content
    client.post("/exams/truth/upload/", {"file": _named(SECOND, "second.csv"), "reason": "pathology <revised>"})
    page = client.get("/exams/truth/upload/").content.decode()
    assert 'name="reason"' in page
    assert "second.csv" in page and "pathology &lt;revised&gt;" in page and "initial truth" in page
    assert page.index("second.csv") < page.index("first.csv")  # newest first
    assert "1 (0 new, 1 changed)" in page and "4 (4 new, 0 changed)" in page and page.count("coord") >= 2
    assert TruthVersion.objects.get(number=2).reason == "pathology <revised>"


@pytest.mark.django_db(transaction=True)
def test_migration_makes_version_1_from_existing_truth():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("exams", "0003_pixel_byte_planes")])
        executor.loader.build_graph()
        old = executor.loader.project_state([("exams", "0003_pixel_byte_planes")]).apps
        exam = old.get_model("exams", "Exam").objects.create(label="EX-OLD", source="dicom")
        old.get_model("exams", "BreastTruth").objects.create(exam=exam, side="L", malignant=True, benign=False, source="b")
        old.get_model("exams", "BreastTruth").objects.create(exam=exam, side="R", malignant=False, benign=False)
        executor = MigrationExecutor(connection)
        executor.migrate([("exams", "0004_truth_versions")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    version = TruthVersion.objects.get()
    assert (version.number, version.breasts_added) == (1, 2)
    assert set(BreastTruth.objects.values_list("version__number", flat=True)) == {1}
    assert truth_as_of(1) == {(exam.pk, "L"): True, (exam.pk, "R"): False}
    assert latest_truth_version_number() == 1
