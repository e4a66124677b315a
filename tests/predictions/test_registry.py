import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from readerstudy.audit.models import AuditEvent
from readerstudy.predictions import registry
from readerstudy.predictions.models import ModelVersion

pytestmark = pytest.mark.django_db


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_register_reads_variant_and_digest_from_the_file(tiny_model_path):
    version = registry.register_weights(tiny_model_path, name="tiny", notes="for tests")
    assert version.variant == ModelVersion.Variant.IMAGE_ONLY
    assert version.sha256 == sha256(tiny_model_path)
    assert version.weights_file == str(tiny_model_path.resolve())
    assert version.demonstration is True
    assert version.metadata["input_size"] == {"CC": [192, 144], "MLO": [192, 128]}
    assert AuditEvent.objects.filter(action="model_version.registered", object_id=str(version.pk)).exists()


def test_registering_leaves_the_file_unchanged(tiny_model_path):
    before = sha256(tiny_model_path)
    registry.register_weights(tiny_model_path, name="unchanged")
    assert sha256(tiny_model_path) == before


def test_duplicate_name_is_refused(tiny_model_path):
    registry.register_weights(tiny_model_path, name="once")
    with pytest.raises(registry.RegistrationError, match="already exists"):
        registry.register_weights(tiny_model_path, name="once")


def test_a_file_that_is_not_weights_is_refused(tmp_path):
    junk = tmp_path / "junk.p"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(registry.RegistrationError, match="junk.p"):
        registry.register_weights(junk, name="junk")
    assert not ModelVersion.objects.exists()


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(registry.RegistrationError, match="not found"):
        registry.register_weights(tmp_path / "absent.p", name="absent")


def test_the_patch_model_is_not_a_view_wise_model(patch_model_path):
    with pytest.raises(registry.RegistrationError, match="patch"):
        registry.register_weights(patch_model_path, name="patch as main")


def test_heatmap_weights_are_checked_and_recorded(tiny_model_path, patch_model_path, tmp_path):
    version = registry.register_weights(tiny_model_path, name="with heatmaps", heatmap_weights=patch_model_path)
    assert version.heatmap_weights_file == str(patch_model_path.resolve())
    with pytest.raises(registry.RegistrationError):
        registry.register_weights(tiny_model_path, name="wrong heatmaps", heatmap_weights=tiny_model_path)


def test_upload_is_stored_by_digest_under_media(tiny_model_path, media_root):
    upload = SimpleUploadedFile("tiny.ckpt", tiny_model_path.read_bytes())
    version = registry.register_upload(upload, name="uploaded")
    stored = media_root / "models" / f"{sha256(tiny_model_path)}.ckpt"
    assert version.weights_file == str(stored)
    assert stored.read_bytes() == tiny_model_path.read_bytes()
    assert not list((media_root / "models").glob("*.upload"))


def test_upload_with_a_foreign_suffix_is_refused():
    with pytest.raises(registry.RegistrationError, match="ending in"):
        registry.register_upload(SimpleUploadedFile("weights.exe", b"x"), name="bad")
