"""manage.py import_truth FILE.csv : per-breast ground truth, all or nothing."""
from django.core.management.base import BaseCommand, CommandError

from readerstudy.exams.truth import import_truth


class Command(BaseCommand):
    help = "Import ground truth (CSV: exam_id,side,malignant,benign[,source]); nothing is stored on any error."

    def add_arguments(self, parser):
        parser.add_argument("csv_file")

    def handle(self, *args, csv_file, **options):
        try:
            with open(csv_file, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {csv_file}: {exc}") from None
        stored, errors = import_truth(text)
        if errors:
            for error in errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(errors)} error(s) in {csv_file}; nothing was imported")
        self.stdout.write(f"ground truth stored for {stored} breast(s)")
