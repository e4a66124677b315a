"""Forms of the coordinator's model pages: register a model version, start a run."""
from django import forms

from readerstudy.predictions.models import ModelVersion
from readerstudy.predictions.runs import DEFAULT_OPTIONS, HEATMAP_MODES, MAX_BATCH_SIZE, MAX_TTA
from readerstudy.studies.models import ReadingSet, Study


class RegisterModelForm(forms.Form):
    name = forms.CharField(max_length=200)
    weights_path = forms.CharField(max_length=500, required=False, label="Weights file on the workers' storage",
                                   help_text="An absolute path that every worker can read, e.g. /models/sample_image_model.p")
    weights_upload = forms.FileField(required=False, label="…or upload the weights file")
    heatmap_weights_path = forms.CharField(max_length=500, required=False, label="Patch model (heatmaps), path")
    heatmap_weights_upload = forms.FileField(required=False, label="…or upload the patch model")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def clean(self):
        data = super().clean()
        for base in ("weights", "heatmap_weights"):
            if data.get(f"{base}_path") and data.get(f"{base}_upload"):
                raise forms.ValidationError(f"Give the {base.replace('_', ' ')} as a path or as an upload, not both.")
        if not data.get("weights_path") and not data.get("weights_upload"):
            raise forms.ValidationError("Give the weights file as a path or as an upload.")
        return data


class StartRunForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.all())
    reading_set = forms.ModelChoiceField(queryset=ReadingSet.objects.select_related("study"), required=False,
                                         help_text="The exams of one reading set…")
    study = forms.ModelChoiceField(queryset=Study.objects.all(), required=False, help_text="…or of every reading set of a study.")
    tta = forms.IntegerField(min_value=1, max_value=MAX_TTA, initial=DEFAULT_OPTIONS["tta"], label="Test-time passes",
                             help_text="1 = one centred pass; the published runs average 10 augmented passes.")
    seed = forms.IntegerField(min_value=0, max_value=2**32 - 1, initial=DEFAULT_OPTIONS["seed"])
    batch_size = forms.IntegerField(min_value=1, max_value=MAX_BATCH_SIZE, initial=DEFAULT_OPTIONS["batch_size"],
                                    label="Exams per task")
    heatmaps = forms.BooleanField(required=False, initial=True, label="Store heatmaps (needs a patch model)")
    heatmap_mode = forms.ChoiceField(choices=[(m, m) for m in HEATMAP_MODES], initial=DEFAULT_OPTIONS["heatmap_mode"],
                                     help_text="exact: as published; fast: about 10x cheaper, approximate (display only).")

    def clean(self):
        data = super().clean()
        if bool(data.get("reading_set")) == bool(data.get("study")):
            raise forms.ValidationError("Choose either a reading set or a study.")
        return data

    def options(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("tta", "seed", "batch_size", "heatmaps", "heatmap_mode")}
