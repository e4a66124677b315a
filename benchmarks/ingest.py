"""Benchmark of exam ingest on full-size (4096 x 3328, 12-bit) phantom mammograms.

The real import path (`readerstudy.exams.ingest.ingest_paths`: read, validate, de-identify, store
the DICOM copy, write the pixel derivative and the preview, database rows in a transaction) is
timed against pydicom alone decoding the same files (`dcmread` + `ds.pixel_array`), both in this
run, on the same files, two ways:

- exam: the four views of an exam in one import, as coordinators import them; per-image time is
  the import's time divided by four (an image's writes overlap the reading of the next);
- single file: one image per import, its latency (nothing to overlap with).

Reported: medians over exams / images and repetitions, and their ratios to the median decode.
Runs in a throw-away SQLite database and MEDIA_ROOT; nothing of the project's data is touched.

Target (issue 3): per-image import at most 3x the pydicom decode time.

  .venv/bin/python benchmarks/ingest.py [--exams 2] [--repeats 3] [--syntaxes native,jpeg2000,rle]
"""
import argparse
import gc
import os
import shutil
import statistics
import subprocess
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
from pydicom.uid import JPEG2000Lossless, RLELossless  # noqa: E402

from readerstudy.exams import derivatives, phantoms  # noqa: E402
from readerstudy.exams.deidentify import Deidentifier  # noqa: E402
from readerstudy.exams.dicom_reader import read_dicom  # noqa: E402
from readerstudy.exams.dicom_writer import write_dicom  # noqa: E402
from readerstudy.exams.ingest import ingest_paths  # noqa: E402
from readerstudy.exams.models import Exam  # noqa: E402

SYNTAXES = {"native": None, "jpeg2000": JPEG2000Lossless, "rle": RLELossless}


def write_exams(count: int, syntax_name: str, folder: Path) -> list[list[Path]]:
    """`count` four-view phantom exams, one list of paths per exam."""
    exams = []
    for index in range(1, count + 1):
        exam = phantoms.make_exam(index, phantoms.FULL_SIZE, seed=2026)
        paths = []
        for view, pixels in exam.views.items():
            ds = phantoms.phantom_dataset(exam, view, pixels, 2026, index)
            if SYNTAXES[syntax_name] is not None:
                ds.compress(SYNTAXES[syntax_name])
            path = folder / exam.exam_id / f"{view}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
        exams.append(paths)
    return exams


def time_decode(path: Path) -> float:
    began = time.perf_counter()
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    elapsed = time.perf_counter() - began
    assert pixels.shape == phantoms.FULL_SIZE
    return elapsed


def time_ingest(paths: list[Path]) -> float:
    began = time.perf_counter()
    report = ingest_paths(paths, keep_identifier_map=True)
    elapsed = time.perf_counter() - began
    assert report.imported == len(paths), [(r.reason, r.message) for r in report.results]
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
    with open(WORK / "stage.dcm", "wb") as out:
        write_dicom(image.dataset, out)
    times["write DICOM copy"] = time.perf_counter() - began
    began = time.perf_counter()
    with open(WORK / "stage.gz", "wb") as out:
        derivatives.write_pixel_planes(image.pixels, out)
    times["pixel derivative"] = time.perf_counter() - began
    began = time.perf_counter()
    image.__dict__.pop("value_range", None)  # computed by read_dicom: time it here again
    derivatives.preview_png(image, image.value_range)
    times["min/max + preview"] = time.perf_counter() - began
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exams", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--syntaxes", default="native,jpeg2000")
    args = parser.parse_args()
    # Migrating in this process leaves it slower at big allocations (pydicom's decode took 23 ms
    # instead of 11 afterwards); production processes never migrate, so neither does this one.
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"], check=True)
    print(f"ingest benchmark: {args.exams} exam(s) of 4 views, {phantoms.FULL_SIZE[0]} x {phantoms.FULL_SIZE[1]}, "
          f"12 bits stored, {args.repeats} repetition(s); cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'transfer syntax':16} {'pydicom decode':>15} {'exam import':>12} {'ratio':>6} {'single file':>12} {'ratio':>6}"
          "   (per image)")
    worst = 0.0
    for name in args.syntaxes.split(","):
        exams = write_exams(args.exams, name, WORK / name)
        decode, per_exam_image, single = [], [], []
        for _ in range(args.repeats):
            # Decoding is timed on a settled machine: the kernel writing back an import's files
            # would otherwise slow the baseline down and flatter the ratio.
            os.sync()
            for paths in exams:
                for path in paths:
                    gc.collect()
                    decode.append(time_decode(path))
            os.sync()
            for paths in exams:  # one import after the other, as in a sustained import
                gc.collect()
                per_exam_image.append(time_ingest(paths) / len(paths))
            reset()
            os.sync()
            for paths in exams:
                for path in paths:
                    gc.collect()
                    single.append(time_ingest([path]))
            reset()
        base = statistics.median(decode)
        exam_ratio = statistics.median(per_exam_image) / base
        single_ratio = statistics.median(single) / base
        worst = max(worst, exam_ratio)
        print(f"{name:16} {base * 1000:12.0f} ms {statistics.median(per_exam_image) * 1000:9.0f} ms {exam_ratio:5.1f}x "
              f"{statistics.median(single) * 1000:9.0f} ms {single_ratio:5.1f}x")
        if base > 1.5 * min(decode):
            print(f"    note: the decode median is {base / min(decode):.1f}x its fastest run ({min(decode) * 1000:.0f} ms): "
                  "this process allocates slowly now, which flatters the ratios; run again")
        if name == "native":
            breakdown = [stages(path) for path in exams[0]]
            print("    stage by stage, one thread, no overlap:")
            for stage in breakdown[0]:
                print(f"    {stage:28} {statistics.median(b[stage] for b in breakdown) * 1000:7.0f} ms")
    print(f"target: per-image import at most 3x the decode (exam import); worst ratio here {worst:.1f}x")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    try:
        status = main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(status)
