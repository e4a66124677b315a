"""Forms of the coordinator pages. They check input; the services in this app do the work."""
from django import forms
from django.contrib.auth import get_user_model

from readerstudy.exams.models import Exam
from readerstudy.predictions.models import ModelRun
from readerstudy.studies.models import Membership, ReadingSet, Study
from readerstudy.studies.sampling import STRATA

AMENDMENT_REASON = "Why the protocol changes (required once the study is open: it becomes a protocol amendment)."


class StudyForm(forms.ModelForm):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=AMENDMENT_REASON)

    class Meta:
        model = Study
        fields = ["name", "description", "unit", "sequence_design", "split_cases", "washout_days", "allow_amendments", "hybrid_lambda"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "washout_days": "Days between a reader's last reading of session 1 and the opening of their session 2 (0: none).",
            "hybrid_lambda": "Pre-specified weight of the reader in the hybrid score (0.5: the reader/model average).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None or self.instance.is_draft:
            del self.fields["reason"]

    def validate_unique(self):
        """The service checks the name inside its transaction."""


class ArmForm(forms.Form):
    model_run = forms.ModelChoiceField(queryset=ModelRun.objects.none(), help_text="A completed run covering every exam of the study, with exact heatmaps where it shows heatmaps.")
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=AMENDMENT_REASON)

    def __init__(self, *args, runs, study, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_run"].queryset = runs.select_related("model_version").order_by("-created_at")
        if study.is_draft:
            del self.fields["reason"]


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.READER)

    def clean_username(self):
        user = get_user_model().objects.filter(username=self.cleaned_data["username"].strip(), is_active=True).first()
        if user is None:
            raise forms.ValidationError("No active account with this username.")
        return user


class UnblindForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded with your name and the time, and shown on the study's page.")


class ExamFilterForm(forms.Form):
    label = forms.CharField(required=False)
    source = forms.ChoiceField(required=False, choices=[("", "any source"), *Exam.Source.choices])
    stratum = forms.ChoiceField(required=False, choices=[("", "any truth"), *[(s, s) for s in STRATA]])
    attribute = forms.CharField(required=False, help_text='e.g. "density=C"')
    not_in_study = forms.BooleanField(required=False, label="Only exams not yet in this study")


class ReadingSetPickForm(forms.Form):
    name = forms.CharField(max_length=200)
    exams = forms.ModelMultipleChoiceField(queryset=Exam.objects.none(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, exams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exams"].queryset = exams if exams is not None else Exam.objects.all()


class SampleForm(forms.Form):
    name = forms.CharField(max_length=200)
    size = forms.IntegerField(required=False, min_value=1, help_text="Total, split in proportion to the strata. Or give counts per stratum below.")
    seed = forms.IntegerField(required=False, min_value=0, help_text="Leave empty for a random seed; it is recorded either way.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in STRATA:
            self.fields[f"n_{name}"] = forms.IntegerField(required=False, min_value=0, label=f"{name} exams")

    def clean(self):
        data = super().clean()
        counts = {name: data.get(f"n_{name}") for name in STRATA if data.get(f"n_{name}") is not None}
        if (data.get("size") is None) == (not counts):
            raise forms.ValidationError("Give either a total size or counts per stratum.")
        data["per_stratum"] = counts or None
        return data


class AssignForm(forms.Form):
    """A reading set and the study's readers; each reader's sessions follow their sequence group."""

    reading_set = forms.ModelChoiceField(queryset=ReadingSet.objects.none())
    readers = forms.ModelMultipleChoiceField(queryset=get_user_model().objects.none(), widget=forms.CheckboxSelectMultiple)
    opens_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Optional: not readable before this time.")

    def __init__(self, *args, study, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reading_set"].queryset = study.reading_sets.all()
        self.fields["readers"].queryset = get_user_model().objects.filter(
            memberships__study=study, memberships__role=Membership.Role.READER, is_active=True).order_by("username")
        self.fields["readers"].label_from_instance = lambda user: user.get_full_name() or user.get_username()


class ReaderForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)


class AuditFilterForm(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.none(), required=False)
    action = forms.CharField(required=False)
    actor = forms.CharField(required=False, label="User")
    object_type = forms.CharField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, studies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = studies

    def params(self) -> dict:
        """The filters as query parameters for `audit_trail.filtered`."""
        data = self.cleaned_data
        params = {k: data[k] for k in ("action", "actor", "object_type") if data.get(k)}
        if data.get("study"):
            params["study"] = str(data["study"].pk)
        for k in ("since", "until"):
            if data.get(k):
                params[k] = data[k].isoformat()
        return params
