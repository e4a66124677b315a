"""Data migrations of exams: SHA-256 rows get their 'sha256:' prefix, plain uint16 pixel
derivatives are rewritten as byte planes (and back, when migrating backwards)."""
import gzip

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from readerstudy.exams.derivatives import decode_pixel_planes

BEFORE = [("exams", "0001_initial")]
AFTER = [("exams", "0003_pixel_byte_planes")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_derivatives_become_byte_planes_and_back(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pixels = np.random.default_rng(5).integers(0, 4096, (40, 30), dtype=np.uint16)
    old_name = "derivatives/EX-1/L-CC-abc.u16.gz"
    (tmp_path / old_name).parent.mkdir(parents=True)
    (tmp_path / old_name).write_bytes(gzip.compress(pixels.astype("<u2").tobytes()))
    try:
        apps = migrate(BEFORE)
        exam = apps.get_model("exams", "Exam").objects.create(label="EX-1", source="dicom")
        apps.get_model("exams", "Image").objects.create(
            exam=exam, view="L-CC", sop_instance_uid="2.25.1", rows=40, columns=30, bits_stored=12,
            source_file="images/EX-1/L-CC-abc.dcm", pixels_file=old_name, preview_file="p.png", sha256="ab" * 32)

        image = migrate(AFTER).get_model("exams", "Image").objects.get()
        assert image.checksum == "sha256:" + "ab" * 32
        assert image.pixels_file.name == "derivatives/EX-1/L-CC-abc.planes.gz"
        assert not (tmp_path / old_name).exists()
        assert np.array_equal(decode_pixel_planes((tmp_path / image.pixels_file.name).read_bytes(), 40, 30), pixels)

        image = migrate(BEFORE).get_model("exams", "Image").objects.get()
        assert image.sha256 == "ab" * 32 and image.pixels_file.name == old_name
        restored = np.frombuffer(gzip.decompress((tmp_path / old_name).read_bytes()), dtype="<u2")
        assert np.array_equal(restored.reshape(40, 30), pixels)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
