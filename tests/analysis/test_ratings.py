import io

import numpy as np
import pytest

from readerstudy.analysis.ratings import RatingsError, read_ratings, to_exam_level, write_ratings

GOOD = """reader_id,modality,case_id,truth,rating,cluster_id
r1,A,c1,1,0.9,e1
r1,A,c2,0,0.2,e1
r1,A,c3,0,0.4,e2
r2,A,c1,1,0.7,e1
r2,A,c2,0,0.8,e1
r2,A,c3,0,0.1,e2
"""


def parse(text):
    return read_ratings(io.StringIO(text))


def test_reads_long_format():
    ratings = parse(GOOD)
    assert ratings.case_ids == ("c1", "c2", "c3")
    assert ratings.truth.tolist() == [True, False, False]
    assert ratings.modalities["A"].readers == ("r1", "r2")
    np.testing.assert_array_equal(ratings.modalities["A"].scores, [[0.9, 0.2, 0.4], [0.7, 0.8, 0.1]])
    assert ratings.cluster_ids == ("e1", "e1", "e2")
    assert ratings.clusters().tolist() == [0, 0, 1]


def test_round_trip(tmp_path):
    ratings = parse(GOOD)
    write_ratings(ratings, tmp_path / "out.csv")
    again = read_ratings(tmp_path / "out.csv")
    assert again.case_ids == ratings.case_ids and again.cluster_ids == ratings.cluster_ids
    np.testing.assert_array_equal(again.modalities["A"].scores, ratings.modalities["A"].scores)


def test_exam_level_is_max_over_breasts_and_positive_if_either():
    exams = to_exam_level(parse(GOOD))
    assert exams.case_ids == ("e1", "e2")
    assert exams.truth.tolist() == [True, False]
    np.testing.assert_array_equal(exams.modalities["A"].scores, [[0.9, 0.4], [0.8, 0.1]])
    assert exams.cluster_ids is None


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("reader_id,modality,case_id,rating\nr1,A,c1,0.5\n", r"missing column\(s\) truth"),
    ("reader_id,case_id,truth\nr1,c1,1\n", r"missing column\(s\) modality, rating"),
    (GOOD.replace("r2,A,c1,1,0.7", "r2,A,c1,0,0.7"), "case 'c1' has two truths: 1 on line 2 and 0 on line 5"),
    (GOOD.replace("0.8", "high"), "line 6: rating 'high' is not a number"),
    (GOOD.replace("0.8", "nan"), "line 6: rating 'nan' is not a finite number"),
    (GOOD.replace("r1,A,c3,0,0.4", "r1,A,c3,2,0.4"), "line 4: truth '2' is not 0"),
    ("\n".join(GOOD.splitlines()[:-1]) + "\n", "reader 'r2' in modality 'A' has no rating for 1 of 3 case"),
    (GOOD + "r1,A,c1,1,0.5,e1\n", "line 8: reader 'r1' already rated case 'c1' in modality 'A' on line 2"),
    (GOOD.replace("r2,A,c1,1,0.7,e1", "r2,A,c1,1,0.7,e9"), "case 'c1' has two cluster_ids"),
    (GOOD.replace(",1,0.9", ",0,0.9").replace(",1,0.7", ",0,0.7"), "both truths: 0 positive"),
    ("reader_id,modality,case_id,truth,rating\n", "no readings"),
    ("reader_id,modality,case_id,truth,rating\nr1,A,c1,1\n", "line 2: 4 field"),
])
def test_precise_errors(text, message):
    with pytest.raises(RatingsError, match=message):
        parse(text)


def test_missing_file(tmp_path):
    with pytest.raises(RatingsError, match="no such file"):
        read_ratings(tmp_path / "absent.csv")


def test_exam_level_needs_clusters():
    with pytest.raises(RatingsError, match="cluster_id"):
        to_exam_level(parse("\n".join(line.rsplit(",", 1)[0] for line in GOOD.splitlines())))
