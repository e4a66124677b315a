"""The coordinator's pages drive the same services as the API: a study from creation to export."""
import pytest

from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Assignment, Membership, ReadingSet, Study
from tests.studies.factories import attach_run, make_exams

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(client, people):
    client.force_login(people["coordinator"])
    return client


def test_create_sample_assign_and_follow_a_study(coordinator, people):
    make_exams(20)
    response = coordinator.post("/studies/new/", {"name": "Pages", "unit": "exam", "washout_days": 7, "description": "d",
                                                  "sequence_design": "counterbalanced", "hybrid_lambda": 0.5})
    study = Study.objects.get(name="Pages")
    assert response.status_code == 302 and response["Location"] == f"/studies/{study.pk}/"
    assert [a.kind for a in study.arms.order_by("position")] == ["unaided", "ai_aided"]

    response = coordinator.post(f"/studies/{study.pk}/reading-sets/sample/", {"name": "Enriched", "n_malignant": 3, "n_negative": 2, "seed": 4, "filter-label": "EX"})
    reading_set = ReadingSet.objects.get(name="Enriched")
    assert response.status_code == 302 and reading_set.members.count() == 5
    assert reading_set.selection["allocation"]["malignant"] == 3 and reading_set.selection["seed"] == 4

    picked = make_exams(2, prefix="PICK")
    listing = coordinator.get(f"/studies/{study.pk}/reading-sets/new/?label=PICK")
    assert listing.status_code == 200 and b"PICK-000" in listing.content and b"EX-000" not in listing.content
    response = coordinator.post(f"/studies/{study.pk}/reading-sets/new/?label=PICK", {"name": "Picked", "exams": [e.pk for e in picked]})
    assert response.status_code == 302 and ReadingSet.objects.get(name="Picked").exam_ids() == [e.pk for e in picked]

    for reader in ("reader_a", "reader_b"):
        added = coordinator.post(f"/studies/{study.pk}/members/", {"username": people[reader].username, "role": "reader"})
        assert added.status_code == 302
    assert set(Membership.objects.filter(study=study, role="reader").values_list("sequence_group", flat=True)) == {"unaided_first", "aided_first"}
    twice = coordinator.post(f"/studies/{study.pk}/members/", {"username": people["reader_a"].username, "role": "statistician"}, follow=True)
    assert b"nobody is both a reader and its coordinator or statistician" in twice.content

    response = coordinator.post(f"/studies/{study.pk}/assignments/", {"reading_set": reading_set.pk, "readers": [people["reader_a"].pk, people["reader_b"].pk]})
    assert response.status_code == 302 and Assignment.objects.filter(reading_set=reading_set).count() == 4
    again = coordinator.post(f"/studies/{study.pk}/assignments/", {"reading_set": reading_set.pk, "readers": [people["reader_a"].pk]})
    assert again.status_code == 200 and b"already assigned" in again.content
    assert Assignment.objects.filter(reading_set=reading_set).count() == 4  # all or nothing

    refused = coordinator.post(f"/studies/{study.pk}/status/", {"action": "open"}, follow=True)
    assert b"no model run" in refused.content
    attach_run(study, people["coordinator"])
    assert coordinator.post(f"/studies/{study.pk}/status/", {"action": "open"}).status_code == 302
    study.refresh_from_db()
    assert study.status == "open" and study.protocol_version == 1
    fields = {"name": "Pages", "unit": "breast", "sequence_design": "counterbalanced", "washout_days": 7, "hybrid_lambda": 0.5}
    edit = coordinator.post(f"/studies/{study.pk}/edit/", fields)
    assert edit.status_code == 200 and b"cannot change once the study has opened" in edit.content
    amend = coordinator.post(f"/studies/{study.pk}/edit/", {**fields, "unit": "exam", "washout_days": 10, "reason": "IRB"})
    assert amend.status_code == 302
    study.refresh_from_db()
    assert (study.washout_days, study.protocol_version) == (10, 2)
    assert b"IRB" in coordinator.get(f"/studies/{study.pk}/").content

    progress = coordinator.get(f"/studies/{study.pk}/progress/")
    assert progress.status_code == 200 and b"0 of 20 readings" in progress.content
    csv = coordinator.get(f"/studies/{study.pk}/progress.csv?table=exams")
    assert csv["Content-Type"].startswith("text/csv") and csv.content.decode().count("\n") == 1 + 7  # header, 5 sampled and 2 picked exams

    trail = coordinator.get(f"/studies/audit/?study={study.pk}&action=assignment.created")
    assert trail.status_code == 200 and trail.content.count(b"<td>assignment.created</td>") == 2
    events = AuditEvent.objects.filter(study_id=study.pk).count()
    export = coordinator.get(f"/studies/audit.csv?study={study.pk}")
    lines = export.content.decode().strip().splitlines()
    assert lines[0].startswith("id,at,actor_username,action") and len(lines) == 1 + events
    assert AuditEvent.objects.filter(action="export").count() == 2


def test_invite_a_reader_who_sets_a_password_once(coordinator, client, people):
    response = coordinator.post("/studies/readers/", {"username": "nora", "first_name": "Nora"})
    assert response.status_code == 200
    link = response.context["link"]
    assert b"Set-password link for nora" in response.content
    assert link.startswith("http://testserver/studies/welcome/")
    client.logout()
    form = client.get(link, follow=True)
    assert b"Choose a password" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a-long-passphrase-1", "new_password2": "a-long-passphrase-1"})
    assert done.status_code == 302 and client.login(username="nora", password="a-long-passphrase-1")
    client.logout()
    assert b"no longer works" in client.get(link, follow=True).content
    assert AuditEvent.objects.filter(action="reader.password_set", actor_username="nora").exists()


def test_nav_links_follow_the_roles(client, people):
    from tests.studies.factories import make_study

    make_study(people["coordinator"], exams=1, readers=[people["reader_a"]], statisticians=[people["statistician"]])
    client.force_login(people["coordinator"])
    page = client.get("/").content
    assert b'href="/studies/new/"' not in page and b'href="/exams/upload/"' in page and b'href="/read/"' not in page
    client.force_login(people["reader_a"])
    page = client.get("/").content
    assert b'href="/exams/upload/"' not in page and b'href="/read/"' in page and b'href="/analysis/"' not in page
    client.force_login(people["statistician"])
    page = client.get("/").content
    assert b'href="/analysis/"' in page and b'href="/read/"' not in page
    client.force_login(people["reader_b"])  # in no study yet
    assert b"You take part in no study yet" in client.get("/").content
