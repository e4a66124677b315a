"""manage.py import_exams PATH... : files, folders and zips through the one import path."""
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from readerstudy.exams.ingest import REJECTED, ingest_paths


class Command(BaseCommand):
    help = "Import DICOM mammograms, 16-bit PNG exams (with their exam list) and zips of them."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files, folders (recursive) or .zip archives")
        keep = parser.add_mutually_exclusive_group()
        keep.add_argument("--keep-identifier-map", dest="keep_map", action="store_true", default=None,
                          help="keep original identifiers in the coordinator-only table (default: setting)")
        keep.add_argument("--no-identifier-map", dest="keep_map", action="store_false",
                          help="do not keep original identifiers anywhere")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--fail-on-reject", action="store_true", help="exit with status 1 if any file is rejected")

    def handle(self, *args, paths, keep_map, no_progress, fail_on_reject, verbosity, **options):
        bar = tqdm(desc="files", unit="file", disable=no_progress or verbosity == 0, file=sys.stderr)
        try:
            report = ingest_paths(paths, keep_identifier_map=keep_map, progress=lambda name: bar.update(1))
        finally:
            bar.close()
        for result in report.results:
            if result.status == REJECTED:
                self.stdout.write(f"REJECTED {result.name}: {result.reason}: {result.message}")
            elif verbosity > 1 or result.warnings:
                self.stdout.write(f"{result.status.upper()} {result.name} {result.exam} {result.view} "
                                  f"{result.message} {' · '.join(result.warnings)}".rstrip())
        self.stdout.write(f"{report.imported} file(s) imported into {len(report.exams)} exam(s), "
                          f"{report.rejected} rejected.")
        if fail_on_reject and report.rejected:
            raise CommandError(f"{report.rejected} file(s) rejected")
