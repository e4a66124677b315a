"""Fixtures of the exam-ingest tests: a private MEDIA_ROOT and small phantom files."""
import io
from pathlib import Path

import pytest

from readerstudy.exams import phantoms

SMALL = (256, 208)  # rows, columns: fast, yet large enough for the orientation heuristics


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEID_SECRET = "test-deid-secret"
    return Path(settings.MEDIA_ROOT)


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def phantom_dir(tmp_path):
    """Two 4-view phantom exams as DICOM files plus truth.csv."""
    out = tmp_path / "phantoms"
    phantoms.generate(2, out, size=SMALL, seed=7)
    return out


def dicom_bytes(ds) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
