import pytest

ROLES = ("reader", "coordinator", "statistician")


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return ("transactional_db" in request.fixturenames or "live_server" in request.fixturenames
            or bool(marker and marker.kwargs.get("transaction")))


@pytest.fixture(autouse=True)
def roles_exist(request):
    """Transactional tests end by flushing the database, which also deletes the role groups that a
    data migration made; later transactional tests get them back here."""
    if _transactional(request):
        request.getfixturevalue("transactional_db")
        from django.contrib.auth.models import Group

        for role in ROLES:
            Group.objects.get_or_create(name=role)


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user with the given roles; password 'pw-<username>'."""
    from django.contrib.auth.models import Group

    def make(username, *roles, **extra):
        user = django_user_model.objects.create_user(username=username, password=f"pw-{username}", **extra)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make
