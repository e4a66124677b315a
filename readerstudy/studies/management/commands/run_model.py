"""Start a model run over a study's exams from the command line:
`run_model --model NAME (--reading-set ID | --study ID) [--wait]`, or `run_model --resume RUN`.

The run covers the exams of one reading set, or of every reading set of the study
(`studies.model_runs.start_study_run`); it is not attached to any arm (that is the AI-aided arm's
page, or `lifecycle.configure_arm`)."""
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from readerstudy.predictions import runs
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies.model_runs import start_study_run
from readerstudy.studies.models import ReadingSet, Study

POLL_SECONDS = 2.0


class Command(BaseCommand):
    help = "Run a registered model over a reading set or a study on the Celery workers (gpu queue)."

    def add_arguments(self, parser):
        parser.add_argument("--model", help="name of the model version")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--reading-set", type=int, help="id of the reading set")
        source.add_argument("--study", type=int, help="id of the study (every reading set)")
        source.add_argument("--resume", type=int, metavar="RUN", help="send the unfinished exams of run RUN again")
        parser.add_argument("--tta", type=int, default=runs.DEFAULT_OPTIONS["tta"])
        parser.add_argument("--seed", type=int, default=runs.DEFAULT_OPTIONS["seed"])
        parser.add_argument("--batch-size", type=int, default=runs.DEFAULT_OPTIONS["batch_size"], help="exams per task")
        parser.add_argument("--no-heatmaps", action="store_true")
        parser.add_argument("--heatmap-mode", choices=runs.HEATMAP_MODES, default=runs.DEFAULT_OPTIONS["heatmap_mode"])
        parser.add_argument("--wait", action="store_true", help="follow the progress until the run finishes")
        parser.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")

    def handle(self, *args, **options):
        if options["resume"]:
            run = self._get_run(options["resume"])
            try:
                sent = runs.resume_run(run)
            except runs.RunError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"Sent {sent} task(s) for the unfinished exams of {run}.")
        else:
            run = self._start(options)
        if options["wait"]:
            self._follow(run, options["timeout"])

    def _start(self, options) -> ModelRun:
        if not options["model"]:
            raise CommandError("--model is required to start a run")
        version = ModelVersion.objects.filter(name=options["model"]).first()
        if version is None:
            known = ", ".join(ModelVersion.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no model version named {options['model']!r} (registered: {known})")
        reading_set = study = None
        if options["reading_set"] is not None:
            reading_set = ReadingSet.objects.select_related("study").filter(pk=options["reading_set"]).first()
            if reading_set is None:
                raise CommandError(f"no reading set with id {options['reading_set']}")
            study = reading_set.study
        elif options["study"] is not None:
            study = Study.objects.filter(pk=options["study"]).first()
            if study is None:
                raise CommandError(f"no study with id {options['study']}")
        else:
            raise CommandError("give --reading-set ID or --study ID")
        run_options = {
            "tta": options["tta"], "seed": options["seed"], "batch_size": options["batch_size"],
            "heatmaps": not options["no_heatmaps"], "heatmap_mode": options["heatmap_mode"],
        }
        try:
            run = start_study_run(study, version, reading_set=reading_set, options=run_options, by=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except runs.RunError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Started {run} (id {run.pk}) over {run.items.count()} exams ({run.description}).")
        return run

    def _get_run(self, run_id) -> ModelRun:
        run = ModelRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"no model run with id {run_id}")
        return run

    def _follow(self, run: ModelRun, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            run.refresh_from_db()
            progress = runs.progress(run)
            line = (f"{progress.status}: {progress.done} done, {progress.failed} failed, "
                    f"{progress.running} running, {progress.pending} pending of {progress.total}"
                    + (f" ({progress.exams_per_minute} exams/min)" if progress.exams_per_minute else ""))
            if line != last:
                self.stdout.write(line)
                last = line
            if progress.finished:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(f"{run} is not finished after {timeout:.0f} s (is a worker consuming the gpu queue?)")
            time.sleep(POLL_SECONDS)
        for item in run.items.filter(state="failed").select_related("exam"):
            self.stderr.write(f"{item.exam.label}: {item.error}")
        if run.status != ModelRun.Status.DONE:
            raise CommandError(f"{run} finished as {run.get_status_display().lower()}")
        self.stdout.write(self.style.SUCCESS(f"{run} is done."))
