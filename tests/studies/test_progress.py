import io
from datetime import timedelta

import pytest
from django.utils import timezone

from readerstudy.studies import progress, submission
from tests.studies.factories import answers, make_study

pytestmark = pytest.mark.django_db


def test_progress_per_reader_arm_and_exam(people):
    a, b = people["reader_a"], people["reader_b"]
    study = make_study(people["coordinator"], exams=4, readers=[a, b])
    unaided = a.assignments.get(session=1)
    first_arm = unaided.arm.kind
    second_arm = "ai_aided" if first_arm == "unaided" else "unaided"
    now = timezone.now()
    for n, (exam_id, seconds) in enumerate(zip(unaided.case_order[:3], (10, 20, 60), strict=False)):
        draft = submission.open_reading(unaided, exam_id, now=now - timedelta(seconds=seconds))
        submission.submit(unaided, exam_id, answers(), client_key=f"a{n}", now=now)
        assert draft.first_shown_at is not None
    rows = {(r.reader, r.arm): r for r in progress.by_reader(study)}
    row = rows[("reader_a", first_arm)]
    assert (row.read, row.total, row.percent, row.median_reading_seconds) == (3, 4, 75.0, 20.0)
    assert row.last_activity is not None and row.is_open
    assert rows[("reader_b", "unaided")].read == 0 and rows[("reader_a", second_arm)].is_open is False
    assert progress.overall(list(rows.values())) == {"read": 3, "total": 16, "percent": 18.8}

    exams = {e.exam_id: e for e in progress.by_exam(study)}
    assert sorted(e.reads for e in exams.values()) == [0, 1, 1, 1]
    assert {e.expected for e in exams.values()} == {4}

    out = io.StringIO()
    progress.write_csv(progress.ReaderArmProgress, list(rows.values()), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("assignment_id,reader_id,reader,reading_set,session,arm,total,read,percent") and len(lines) == 5
