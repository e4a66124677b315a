"""The database itself refuses invalid study data, whatever the form or API above it does."""
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.exams.models import BreastTruth, Exam, Image
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies.models import Arm, Assignment, Reading, ReadingSet, ReadingSetExam, Study

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_user):
    reader = make_user("ann", "reader")
    study = Study.objects.create(name="S")
    arm = Arm.objects.create(study=study, kind="unaided")
    exam = Exam.objects.create(label="E1", source="dicom")
    rs = ReadingSet.objects.create(study=study, name="set")
    ReadingSetExam.objects.create(reading_set=rs, exam=exam, position=0)
    assignment = Assignment.objects.create(reader=reader, reading_set=rs, arm=arm, case_order=[exam.pk], order_seed=1)
    return assignment, exam


def submitted(assignment, exam, **overrides):
    values = dict(assignment=assignment, exam=exam, status="submitted", left_probability=10, right_probability=90,
                  left_birads=1, right_birads=4, submitted_at=timezone.now())
    values.update(overrides)
    return Reading(**values)


def assert_refused(obj):
    with pytest.raises(IntegrityError), transaction.atomic():
        obj.save()


def test_second_submitted_reading_is_refused(setup):
    assignment, exam = setup
    submitted(assignment, exam).save()
    assert_refused(submitted(assignment, exam))


@pytest.mark.parametrize("field,value", [("left_probability", 101), ("right_probability", -0.5), ("left_birads", 7), ("right_birads", 9)])
def test_out_of_range_values_are_refused(setup, field, value):
    assert_refused(submitted(*setup, **{field: value}))


def test_submitted_reading_must_be_complete(setup):
    assert_refused(submitted(*setup, right_birads=None))


def test_draft_may_be_incomplete(setup):
    Reading.objects.create(assignment=setup[0], exam=setup[1], left_probability=50)


def test_one_prediction_per_run_and_exam(setup):
    _, exam = setup
    version = ModelVersion.objects.create(name="m", variant="image_only", weights_file="/w.p", sha256="0" * 64)
    run = ModelRun.objects.create(model_version=version, description=setup[0].arm.study.name)
    values = dict(run=run, exam=exam, left_benign=0.1, right_benign=0.2, left_malignant=0.3, right_malignant=0.4)
    Prediction.objects.create(**values)
    assert_refused(Prediction(**values))
    assert_refused(Prediction(**{**values, "exam": Exam.objects.create(label="E2", source="dicom"), "left_malignant": 1.5}))


def test_unique_sop_instance_uid_and_one_view_per_exam(setup):
    _, exam = setup
    common = dict(rows=10, columns=10, bits_stored=12, source_file="a", pixels_file="b", preview_file="c")
    Image.objects.create(exam=exam, view="L-CC", sop_instance_uid="1.2.3", **common)
    assert_refused(Image(exam=exam, view="R-CC", sop_instance_uid="1.2.3", **common))
    assert_refused(Image(exam=exam, view="L-CC", sop_instance_uid="1.2.4", **common))
    assert_refused(Image(exam=exam, view="L-XCC", sop_instance_uid="1.2.5", **common))


def test_one_truth_per_breast(setup):
    _, exam = setup
    BreastTruth.objects.create(exam=exam, side="L", malignant=True, benign=False)
    assert_refused(BreastTruth(exam=exam, side="L", malignant=False, benign=False))
    assert_refused(BreastTruth(exam=exam, side="X", malignant=False, benign=False))
