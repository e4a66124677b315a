import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 takes most of the time of these tests; its strength is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    """The cast of a study: a coordinator, a statistician and readers A and B."""
    return {
        "coordinator": make_user("coord", "coordinator"),
        "statistician": make_user("stat", "statistician"),
        "reader_a": make_user("reader_a", "reader"),
        "reader_b": make_user("reader_b", "reader"),
    }
