"""Small builders for studies tests: exams with ground truth, a study with a reading set and assignments."""
import itertools

from readerstudy.exams.models import BreastTruth, Exam, Image
from readerstudy.studies import assignments, lifecycle, reading_sets

# (left malignant, left benign, right malignant, right benign): cycles through every stratum.
TRUTH_CYCLE = [(True, False, False, False), (False, True, False, False), (False, False, False, False), (False, False, False, True)]


def make_exams(n: int, prefix: str = "EX", with_truth: bool = True, images: bool = False) -> list[Exam]:
    exams = []
    for i, truth in zip(range(n), itertools.cycle(TRUTH_CYCLE)):
        exam = Exam.objects.create(label=f"{prefix}-{i:03d}", source=Exam.Source.DICOM)
        if with_truth:
            BreastTruth.objects.create(exam=exam, side="L", malignant=truth[0], benign=truth[1], source="test")
            BreastTruth.objects.create(exam=exam, side="R", malignant=truth[2], benign=truth[3], source="test")
        if images:
            for view in ("L-CC", "R-CC", "L-MLO", "R-MLO"):
                Image.objects.create(exam=exam, view=view, sop_instance_uid=f"1.2.3.{exam.pk}.{view}", rows=8, columns=6, bits_stored=12)
        exams.append(exam)
    return exams


def make_study(coordinator, *, name="Study", exams=4, readers=(), status="open", washout_days=0, allow_amendments=False, seed=1234):
    """A study whose reading set holds `exams` new exams, each reader assigned to both arms."""
    study = lifecycle.create_study(coordinator, name=name, washout_days=washout_days, allow_amendments=allow_amendments, seed=seed)
    exam_rows = make_exams(exams, prefix=name.replace(" ", "")) if isinstance(exams, int) else exams
    reading_set = reading_sets.create_reading_set(study, coordinator, name="Set 1", exam_ids=[e.pk for e in exam_rows])
    for reader in readers:
        assignments.assign_many(reading_set, list(study.arms.all()), [reader], coordinator)
    if status == "open":
        lifecycle.open_study(study, coordinator)
    elif status == "closed":
        lifecycle.open_study(study, coordinator)
        lifecycle.close_study(study, coordinator)
    return study


def answers(probability=50.0, birads=2) -> dict:
    return {"left_probability": probability, "right_probability": probability, "left_birads": birads, "right_birads": birads}
