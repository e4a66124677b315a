"""manage.py make_phantoms N --out DIR [--size HxW] [--format dicom|png] [--seed S]"""
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from readerstudy.exams import phantoms


class Command(BaseCommand):
    help = "Write N synthetic 4-view screening exams (DICOM MG or 16-bit PNG) and their per-breast truth."

    def add_arguments(self, parser):
        parser.add_argument("n", type=int, help="number of exams")
        parser.add_argument("--out", required=True, help="output folder (created)")
        parser.add_argument("--size", default="4096x3328", help="rows x columns, e.g. 1024x832 (default full size)")
        parser.add_argument("--format", dest="fmt", choices=("dicom", "png"), default="dicom")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--start", type=int, default=1, help="index of the first exam")

    def handle(self, *args, n, out, size, fmt, seed, start, verbosity, **options):
        try:
            shape = phantoms.parse_size(size)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if n < 1:
            raise CommandError("N must be at least 1")
        began = time.perf_counter()
        with tqdm(total=n, desc="exams", unit="exam", disable=verbosity == 0, file=sys.stderr) as bar:
            written = phantoms.generate(n, out, size=shape, fmt=fmt, seed=seed, start=start,
                                        progress=lambda done, total: bar.update(1))
        self.stdout.write(f"wrote {len(written)} files for {n} exam(s) to {out} in {time.perf_counter() - began:.1f} s")
