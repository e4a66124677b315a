import pytest


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user with the given roles; password 'pw-<username>'."""
    from django.contrib.auth.models import Group

    def make(username, *roles, **extra):
        user = django_user_model.objects.create_user(username=username, password=f"pw-{username}", **extra)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make
