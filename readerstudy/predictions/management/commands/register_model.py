"""Register a weights file as a model version: `register_model NAME WEIGHTS [--heatmap-weights P] [--notes T]`."""
from django.core.management.base import BaseCommand, CommandError

from readerstudy.predictions import registry
from readerstudy.predictions.models import ModelVersion


class Command(BaseCommand):
    help = "Register a view-wise weights file (published .p or our checkpoint) as a model version."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("weights", help="path of the weights file, readable by every worker")
        parser.add_argument("--heatmap-weights", help="the DenseNet-121 patch model, for heatmaps")
        parser.add_argument("--notes", default="")
        parser.add_argument("--if-absent", action="store_true",
                            help="do nothing when a version of this name with the same SHA-256 exists (for scripts)")

    def handle(self, *args, name, weights, heatmap_weights, notes, if_absent, **options):
        existing = ModelVersion.objects.filter(name=name).first()
        if existing is not None and if_absent:
            from classifier.weights import file_sha256

            if file_sha256(weights) != existing.sha256:
                raise CommandError(f"model version {name!r} exists with another SHA-256 ({existing.sha256})")
            self.stdout.write(f"{existing} is already registered (id {existing.pk}).")
            return
        try:
            version = registry.register_weights(weights, name=name, heatmap_weights=heatmap_weights, notes=notes)
        except registry.RegistrationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(
            f"Registered {version} (id {version.pk}): {version.get_variant_display()}, sha256 {version.sha256}"
        ))
