"""Forms of the model pages: register a model version. (Starting a run over a study's exams is a
study page: studies/views/model_runs.py.)"""
from django import forms


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
