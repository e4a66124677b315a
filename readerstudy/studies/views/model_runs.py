"""The coordinator's "start a model run" page of a study: a registered model over one reading set
or every reading set of the study. The run's dashboard is the predictions app's run page."""
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from readerstudy.access import policy
from readerstudy.predictions import runs
from readerstudy.predictions.models import ModelVersion
from readerstudy.studies import model_runs
from readerstudy.studies.models import Arm, ReadingSet
from readerstudy.studies.views.common import add_service_errors, get_study

RUN_OPTIONS = ("tta", "seed", "batch_size", "heatmaps", "heatmap_mode")


class StartStudyRunForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.none())
    reading_set = forms.ModelChoiceField(queryset=ReadingSet.objects.none(), required=False,
                                         empty_label="All reading sets of the study",
                                         help_text="The exams of one reading set, or of every reading set of the study.")
    tta = forms.IntegerField(min_value=1, max_value=runs.MAX_TTA, initial=runs.DEFAULT_OPTIONS["tta"], label="Test-time passes",
                             help_text="1 = one centred pass; the published runs average 10 augmented passes.")
    seed = forms.IntegerField(min_value=0, max_value=2**32 - 1, initial=runs.DEFAULT_OPTIONS["seed"])
    batch_size = forms.IntegerField(min_value=1, max_value=runs.MAX_BATCH_SIZE, initial=runs.DEFAULT_OPTIONS["batch_size"],
                                    label="Exams per task")
    heatmaps = forms.BooleanField(required=False, initial=True, label="Store heatmaps (needs a patch model)")
    heatmap_mode = forms.ChoiceField(choices=[(m, m) for m in runs.HEATMAP_MODES], initial=runs.DEFAULT_OPTIONS["heatmap_mode"],
                                     help_text="exact: as published (required for an AI-aided arm); fast: about 10x cheaper, "
                                               "approximate (display only).")

    def __init__(self, *args, study, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = versions
        self.fields["reading_set"].queryset = study.reading_sets.order_by("name", "pk")
        self.fields["reading_set"].label_from_instance = lambda reading_set: reading_set.name

    def options(self) -> dict:
        return {key: self.cleaned_data[key] for key in RUN_OPTIONS}


@require_http_methods(["GET", "POST"])
def start_run_page(request, study_id):
    study = get_study(request, study_id, policy.STUDY_MANAGE)
    initial = {"reading_set": request.GET["reading_set"]} if request.GET.get("reading_set") else {}
    form = StartStudyRunForm(request.POST or None, initial=initial, study=study,
                             versions=policy.model_versions(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = model_runs.start_study_run(study, data["model_version"], reading_set=data["reading_set"],
                                             options=form.options(), by=request.user, request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except runs.RunError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Started {run} over {run.items.count()} exams ({run.description}).")
            return redirect("predictions:run", run.pk)
    aided = study.arms.filter(kind=Arm.Kind.AI_AIDED).select_related("model_run__model_version").first()
    return render(request, "studies/coordinator/start_run.html", {"study": study, "form": form, "aided": aided})
