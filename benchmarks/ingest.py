"""Benchmark of exam ingest on full-size (4096 x 3328, 12-bit) phantom mammograms.

Per image, the real import path (`readerstudy.exams.ingest.ingest_paths`: read, validate,
de-identify, store the DICOM copy, gzip display pixels, preview, database rows in a transaction)
is timed against pydicom alone decoding the same file (`dcmread` + `ds.pixel_array`), both in
this run, on the same files. Reported: medians over images and repetitions, and their ratio.
Runs in a throw-away SQLite database and MEDIA_ROOT; nothing of the project's data is touched.

Target (issue 3): ingest at most 3x the pydicom decode time.

  .venv/bin/python benchmarks/ingest.py [--images 4] [--repeats 3] [--syntaxes native,jpeg2000,rle]
"""
import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
os.environ["MEDIA_ROOT"] = str(WORK / "media")
os.environ["DATABASE_URL"] = f"sqlite:///{WORK / 'bench.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from django.core.management import call_command  # noqa: E402
from pydicom.uid import JPEG2000Lossless, RLELossless  # noqa: E402

from readerstudy.exams import derivatives, phantoms  # noqa: E402
from readerstudy.exams.deidentify import Deidentifier  # noqa: E402
from readerstudy.exams.dicom_reader import read_dicom  # noqa: E402
from readerstudy.exams.ingest import ingest_paths  # noqa: E402
from readerstudy.exams.models import Exam  # noqa: E402

SYNTAXES = {"native": None, "jpeg2000": JPEG2000Lossless, "rle": RLELossless}


def write_files(count: int, syntax_name: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    index = 1
    while len(paths) < count:
        exam = phantoms.make_exam(index, phantoms.FULL_SIZE, seed=2026)
        for view, pixels in exam.views.items():
            if len(paths) == count:
                break
            ds = phantoms.phantom_dataset(exam, view, pixels, 2026, index)
            if SYNTAXES[syntax_name] is not None:
                ds.compress(SYNTAXES[syntax_name])
            path = folder / f"{exam.exam_id}_{view}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
        index += 1
    return paths


def time_decode(path: Path) -> float:
    began = time.perf_counter()
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    elapsed = time.perf_counter() - began
    assert pixels.shape == phantoms.FULL_SIZE
    return elapsed


def time_ingest(path: Path) -> float:
    began = time.perf_counter()
    report = ingest_paths([path], keep_identifier_map=True)
    elapsed = time.perf_counter() - began
    assert report.imported == 1, [(r.reason, r.message) for r in report.results]
    return elapsed


def reset() -> None:
    Exam.objects.all().delete()
    for path in sorted((WORK / "media").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def stages(path: Path) -> dict[str, float]:
    """Where the time goes, stage by stage, without overlap (the real path overlaps the gzip)."""
    times = {}
    began = time.perf_counter()
    data = path.read_bytes()
    times["read file"] = time.perf_counter() - began
    began = time.perf_counter()
    image = read_dicom(data)
    times["parse + validate + decode"] = time.perf_counter() - began
    began = time.perf_counter()
    Deidentifier("benchmark").deidentify(image.dataset)
    times["de-identify"] = time.perf_counter() - began
    began = time.perf_counter()
    image.dataset.save_as(WORK / "stage.dcm", enforce_file_format=True)
    times["write DICOM copy"] = time.perf_counter() - began
    began = time.perf_counter()
    with open(WORK / "stage.gz", "wb") as out:
        derivatives.write_gzip_pixels(image.pixels, out)
    times["gzip pixels"] = time.perf_counter() - began
    began = time.perf_counter()
    value_range = derivatives.pixel_range(image.pixels)
    derivatives.preview_png(image, value_range)
    times["min/max + preview"] = time.perf_counter() - began
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--syntaxes", default="native,jpeg2000")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    print(f"ingest benchmark: {args.images} image(s) of {phantoms.FULL_SIZE[0]} x {phantoms.FULL_SIZE[1]}, "
          f"12 bits stored, {args.repeats} repetition(s); cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'transfer syntax':16} {'pydicom decode':>15} {'ingest':>10} {'ratio':>7}")
    worst = 0.0
    for name in args.syntaxes.split(","):
        paths = write_files(args.images, name, WORK / name)
        decode, ingest = [], []
        for _ in range(args.repeats):
            for path in paths:
                gc.collect()
                decode.append(time_decode(path))
                gc.collect()
                ingest.append(time_ingest(path))
            reset()
        ratio = statistics.median(ingest) / statistics.median(decode)
        worst = max(worst, ratio)
        print(f"{name:16} {statistics.median(decode) * 1000:12.0f} ms {statistics.median(ingest) * 1000:7.0f} ms "
              f"{ratio:6.1f}x")
        if name == "native":
            breakdown = [stages(path) for path in paths]
            for stage in breakdown[0]:
                print(f"    {stage:28} {statistics.median(b[stage] for b in breakdown) * 1000:7.0f} ms")
    print(f"target: at most 3x; worst ratio here {worst:.1f}x")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    try:
        status = main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(status)
