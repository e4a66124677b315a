"""The long-format export of a study's readings, readable by the established MRMC packages."""
import csv
import io

from readerstudy.analysis.study_ratings import LONG_COLUMNS, study_ratings


def ratings_csv(study) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LONG_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(study_ratings(study).rows)
    return buffer.getvalue()
