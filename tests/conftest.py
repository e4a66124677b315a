import pytest

# Site-level group; roles in a study are memberships (tests.studies.factories.make_study).
SITE_GROUPS = ("study creators",)


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return ("transactional_db" in request.fixturenames or "live_server" in request.fixturenames
            or bool(marker and marker.kwargs.get("transaction")))


@pytest.fixture(autouse=True)
def roles_exist(request):
    """Transactional tests end by flushing the database, which also deletes the group that a data
    migration made; later transactional tests get it back here."""
    if _transactional(request):
        request.getfixturevalue("transactional_db")
        from django.contrib.auth.models import Group

        for name in SITE_GROUPS:
            Group.objects.get_or_create(name=name)


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user; password 'pw-<username>'. Roles are per study (memberships); of the role names
    given here only "coordinator" means something site-wide: the user may create studies (the
    "study creators" group). "reader" and "statistician" are accepted for readability."""
    from tests.studies.factories import make_account

    def make(username, *roles, **extra):
        return make_account(username, *roles, **extra)

    return make
