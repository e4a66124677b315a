"""The model registry: a weights file becomes a ModelVersion with its SHA-256 and variant.

The variant, the demonstration flag and the rest of the metadata are read from the file itself
through `classifier.weights.load`, never typed in, so a registered version always describes the
weights that the workers will load. Files are registered as they are (the published `.p` files
included): nothing is converted or rewritten, so the recorded SHA-256 is that of the original file.
Uploaded files are stored under MEDIA_ROOT/models/ (storage shared with the workers), named by
their SHA-256.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from readerstudy import audit
from readerstudy.predictions.models import ModelVersion

VIEWWISE = "viewwise"
PATCH = "patch"
UPLOAD_SUFFIXES = (".p", ".pt", ".pth", ".ckpt")


class RegistrationError(ValueError):
    """A weights file that cannot be registered, with the reason."""


def weights_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "models"


def _load(path: Path, kind: str):
    from classifier import weights  # torch is imported only where a file is actually read

    try:
        return weights.load(path, device="cpu", kind=kind, optimize=False)
    except FileNotFoundError as error:
        raise RegistrationError(str(error)) from None
    except ValueError as error:
        raise RegistrationError(f"{path.name}: {error}") from None


def register_weights(path, *, name: str, heatmap_weights=None, notes: str = "", actor=None, request=None) -> ModelVersion:
    """Register a view-wise weights file (and optionally the patch model for heatmaps) under `name`."""
    name = (name or "").strip()
    if not name:
        raise RegistrationError("a model version needs a name")
    path = Path(path).expanduser().resolve()
    loaded = _load(path, VIEWWISE)
    variant = loaded.metadata.get("variant")
    if variant not in ModelVersion.Variant.values:
        raise RegistrationError(f"{path.name}: unknown view-wise variant {variant!r}")
    heatmap_path = ""
    if heatmap_weights:
        heatmap = Path(heatmap_weights).expanduser().resolve()
        _load(heatmap, PATCH)
        heatmap_path = str(heatmap)
    elif variant == ModelVersion.Variant.IMAGE_HEATMAPS:
        raise RegistrationError(
            f"{path.name} is the image-and-heatmaps variant: it needs the patch model (heatmap weights) to make its inputs"
        )
    metadata = {key: value for key, value in loaded.metadata.items() if _is_json(value)}
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                name=name,
                variant=variant,
                weights_file=str(path),
                heatmap_weights_file=heatmap_path,
                sha256=loaded.sha256,
                demonstration=loaded.demonstration,
                notes=notes,
                metadata=metadata,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise RegistrationError(f"a model version named {name!r} already exists") from None
    audit.record(actor, "model_version.registered", version, request=request, name=name, sha256=version.sha256,
                 variant=variant, demonstration=version.demonstration, weights_file=str(path))
    return version


def store_upload(uploaded) -> Path:
    """Write an uploaded weights file to MEDIA_ROOT/models/<sha256><suffix>; returns its path.

    Streams in chunks (weights files are tens of megabytes) and renames into place only when the
    digest is known, so a half-written file never carries a valid-looking name.
    """
    suffix = Path(uploaded.name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RegistrationError(f"expected a weights file ending in {', '.join(UPLOAD_SUFFIXES)}, got {uploaded.name!r}")
    directory = weights_dir()
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".upload")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in uploaded.chunks():
                digest.update(chunk)
                out.write(chunk)
        target = directory / f"{digest.hexdigest()}{suffix}"
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def register_upload(uploaded, *, name: str, heatmap_upload=None, notes: str = "", actor=None, request=None) -> ModelVersion:
    path = store_upload(uploaded)
    heatmap = store_upload(heatmap_upload) if heatmap_upload else None
    return register_weights(path, name=name, heatmap_weights=heatmap, notes=notes, actor=actor, request=request)


def _is_json(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False
