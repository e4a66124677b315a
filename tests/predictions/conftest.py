import pytest

from tests.predictions.builders import write_patch_model, write_tiny_model


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny-viewwise.ckpt")


@pytest.fixture(scope="session")
def patch_model_path(tmp_path_factory):
    return write_patch_model(tmp_path_factory.mktemp("models") / "random-patch.ckpt")
