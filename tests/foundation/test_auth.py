import pytest
from django.contrib.auth.models import Group

from readerstudy.audit.models import AppendOnlyError, AuditEvent

pytestmark = pytest.mark.django_db


def test_only_the_site_level_group_exists_after_migrations():
    """Roles in a study are memberships; the only site-level group lets its members create studies."""
    names = set(Group.objects.values_list("name", flat=True))
    assert "study creators" in names and not names & {"reader", "coordinator", "statistician"}


def test_pages_require_login(client):
    for url in ["/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    assert client.get("/accounts/login/").status_code == 200


def test_login_logout_and_audit(client, make_user):
    make_user("ann", "reader")
    response = client.post("/accounts/login/", {"username": "ann", "password": "pw-ann"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200 and b"ann" in page.content and b"no study yet" in page.content
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [("login", "ann"), ("logout", "ann")]


def test_failed_login_is_audited(client, make_user):
    make_user("ann", "reader")
    response = client.post("/accounts/login/", {"username": "ann", "password": "wrong"})
    assert response.status_code == 200 and b"didn't match" in response.content
    assert AuditEvent.objects.get().action == "login_failed"


def test_audit_events_are_append_only(make_user):
    event = AuditEvent.objects.create(action="x")
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(action="y")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
