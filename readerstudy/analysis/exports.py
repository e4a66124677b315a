"""The long-format export of a study's readings, readable by the established MRMC packages
(which ignore the two crossover columns, `sequence_group` and `period`)."""
import csv
import io

from readerstudy.analysis.study_ratings import EXPORT_COLUMNS, FIRST, study_ratings


def ratings_csv(study, answers: str = FIRST) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(study_ratings(study, answers=answers).rows)
    return buffer.getvalue()
