import pytest

from readerstudy.studies import reading_sets, sampling
from readerstudy.studies.models import Study
from tests.studies.factories import make_exams


def test_stratum_of_an_exam():
    assert sampling.stratum([]) == "unknown"
    assert sampling.stratum([(False, True), (True, False)]) == "malignant"
    assert sampling.stratum([(False, True), (False, False)]) == "benign"
    assert sampling.stratum([(False, False), (False, False)]) == "negative"


def test_proportional_allocation_keeps_shares_and_total():
    allocation = sampling.proportional_allocation({"malignant": 10, "benign": 30, "negative": 60, "unknown": 0}, 20)
    assert allocation == {"malignant": 2, "benign": 6, "negative": 12, "unknown": 0}
    odd = sampling.proportional_allocation({"malignant": 1, "benign": 1, "negative": 1, "unknown": 0}, 2)
    assert sum(odd.values()) == 2 and max(odd.values()) == 1


def test_sample_is_reproducible_and_stratified():
    pool = {"malignant": list(range(0, 10)), "benign": list(range(10, 40)), "negative": list(range(40, 100))}
    first, allocation = sampling.stratified_sample(pool, size=20, seed=5)
    again, _ = sampling.stratified_sample(pool, size=20, seed=5)
    other, _ = sampling.stratified_sample(pool, size=20, seed=6)
    assert first == again and first != other
    assert len(set(first)) == 20
    assert sum(1 for i in first if i < 10) == allocation["malignant"] == 2


def test_impossible_samples_are_refused():
    pool = {"malignant": [1, 2]}
    with pytest.raises(sampling.SampleError, match="only 2"):
        sampling.stratified_sample(pool, size=3, seed=1)
    with pytest.raises(sampling.SampleError, match="malignant"):
        sampling.stratified_sample(pool, per_stratum={"malignant": 3}, seed=1)
    with pytest.raises(sampling.SampleError, match="either"):
        sampling.stratified_sample(pool, seed=1)


@pytest.mark.django_db
def test_reading_set_from_a_stratified_sample_records_how(people):
    study = Study.objects.create(name="S", seed=1)
    make_exams(40)  # ten of each stratum (malignant, benign, negative, benign-right)
    reading_set = reading_sets.sample_reading_set(study, people["coordinator"], name="Sample", per_stratum={"malignant": 3, "negative": 2}, seed=11)
    strata = reading_sets.strata_of(reading_set.exam_ids())
    assert sorted(strata.values()) == ["malignant"] * 3 + ["negative"] * 2
    assert reading_set.selection["seed"] == 11 and reading_set.selection["allocation"]["malignant"] == 3


@pytest.mark.django_db
def test_exam_filters():
    from django.core.exceptions import ValidationError

    exams = make_exams(8)
    exams[0].attributes = {"density": "C"}
    exams[0].save()
    assert list(reading_sets.filter_exams(attribute="density=C")) == [exams[0]]
    assert [e.label for e in reading_sets.filter_exams(stratum="malignant")] == ["EX-000", "EX-004"]
    assert reading_sets.filter_exams(label="ex-00").count() == 8
    for bad in ("density", "density__gt=1", "=C", "1x=2"):
        with pytest.raises(ValidationError):
            list(reading_sets.filter_exams(attribute=bad))
