"""manage.py import_truth FILE.csv [--reason TEXT] : per-breast ground truth, all or nothing, versioned."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from readerstudy.exams.truth import import_truth_report


class Command(BaseCommand):
    help = ("Import ground truth (CSV: exam_id,side,malignant,benign[,source]); nothing is stored on any error. "
            "An import that changes any breast creates a new ground-truth version.")

    def add_arguments(self, parser):
        parser.add_argument("csv_file")
        parser.add_argument("--reason", default="", help="Why this truth is imported or changed (kept with the version).")

    def handle(self, *args, csv_file, reason="", **options):
        try:
            with open(csv_file, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {csv_file}: {exc}") from None
        result = import_truth_report(text, reason=reason, source=Path(csv_file).name)
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(result.errors)} error(s) in {csv_file}; nothing was imported")
        self.stdout.write(f"ground truth stored for {result.stored} breast(s)")
        if result.version is not None:
            self.stdout.write(f"version {result.version.number}: {result.added} new, {result.changed} changed, "
                              f"{result.unchanged} unchanged")
        else:
            self.stdout.write("nothing changed; no new version")
