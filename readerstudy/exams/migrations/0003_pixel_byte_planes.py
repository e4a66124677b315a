"""Pixel derivatives move from plain little-endian uint16 ('.u16.gz') to byte planes
('.planes.gz', see exams/derivatives.py): existing files are rewritten in the new layout, each
under a new name (which also changes its ETag), the old file removed once the row points to the
new one. Reversible the same way."""
import gzip
from pathlib import Path

import numpy as np
from django.db import migrations

OLD, NEW = ".u16.gz", ".planes.gz"


def _convert(apps, old_suffix, new_suffix, to_planes):
    from readerstudy.exams import derivatives

    Image = apps.get_model("exams", "Image")
    for image in Image.objects.filter(pixels_file__endswith=old_suffix).iterator():
        storage = image.pixels_file.storage
        old_name = image.pixels_file.name
        if not storage.exists(old_name):
            continue  # a missing file stays missing; the viewer and the workers report it
        with storage.open(old_name, "rb") as handle:
            data = handle.read()
        if to_planes:
            values = np.frombuffer(gzip.decompress(data), dtype="<u2").reshape(image.rows, image.columns)
            content = derivatives.pixel_planes_gzip(values)
        else:
            values = derivatives.decode_pixel_planes(data, image.rows, image.columns)
            content = gzip.compress(values.astype("<u2").tobytes(), compresslevel=1)
        new_name = old_name[: -len(old_suffix)] + new_suffix
        Path(storage.path(new_name)).write_bytes(content)
        image.pixels_file.name = new_name
        image.save(update_fields=["pixels_file"])
        storage.delete(old_name)


def to_byte_planes(apps, schema_editor):
    _convert(apps, OLD, NEW, to_planes=True)


def to_plain_uint16(apps, schema_editor):
    _convert(apps, NEW, OLD, to_planes=False)


class Migration(migrations.Migration):
    dependencies = [("exams", "0002_image_checksum")]

    operations = [migrations.RunPython(to_byte_planes, to_plain_uint16)]
