"""Statistician pages and exports on a small crossover study built in the database."""
import csv
import io

import numpy as np
import pytest
from django.utils import timezone

from readerstudy.analysis import report
from readerstudy.analysis.ratings import ratings_from_rows
from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import BreastTruth, Exam
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies.models import Arm, Assignment, Reading, ReadingSet, ReadingSetExam, Study

pytestmark = pytest.mark.django_db
N_EXAMS = 16


@pytest.fixture
def study(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rng = np.random.default_rng(7)
    study = Study.objects.create(name="Crossover", seed=11)
    arms = [Arm.objects.create(study=study, kind=kind, position=i) for i, kind in enumerate(["unaided", "ai_aided"])]
    reading_set = ReadingSet.objects.create(study=study, name="set")
    exams = []
    for i in range(N_EXAMS):
        exam = Exam.objects.create(label=f"EX{i:02d}", source="dicom", attributes={"density": "AB"[i % 2]})
        ReadingSetExam.objects.create(reading_set=reading_set, exam=exam, position=i)
        BreastTruth.objects.create(exam=exam, side="L", malignant=i % 4 == 0, benign=False)
        BreastTruth.objects.create(exam=exam, side="R", malignant=i % 5 == 1, benign=i % 3 == 0)
        exams.append(exam)
    version = ModelVersion.objects.create(name="demo", variant="image_only", weights_file="/x", sha256="0" * 64)
    run = ModelRun.objects.create(model_version=version, study=study, status="done")
    for exam in exams:
        left, right = rng.uniform(0, 1, 2)
        Prediction.objects.create(run=run, exam=exam, left_benign=0.1, right_benign=0.1, left_malignant=left, right_malignant=right)
    for name in ("r1", "r2", "r3"):
        reader = make_user(name, "reader")
        for arm in arms:
            assignment = Assignment.objects.create(reader=reader, reading_set=reading_set, arm=arm,
                                                   case_order=[e.pk for e in exams], order_seed=1)
            for exam in exams:
                truth = {t.side: t.malignant for t in exam.truths.all()}
                Reading.objects.create(
                    assignment=assignment, exam=exam, status="submitted", submitted_at=timezone.now(),
                    left_probability=float(np.clip(40 * truth["L"] + rng.uniform(0, 70), 0, 100)),
                    right_probability=float(np.clip(40 * truth["R"] + rng.uniform(0, 70), 0, 100)),
                    left_birads=2, right_birads=2)
    return study


def test_export_is_the_long_format(client, make_user, study):
    make_user("stat", "statistician")
    client.login(username="stat", password="pw-stat")
    response = client.get(f"/analysis/studies/{study.pk}/ratings.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == ["reader_id", "modality", "case_id", "truth", "rating", "cluster_id"]
    # 3 readers x 2 arms x 32 breasts, plus the model's 32 breasts
    assert len(rows) == 3 * 2 * 2 * N_EXAMS + 2 * N_EXAMS
    first = next(r for r in rows if r["reader_id"] == "r1" and r["modality"] == "unaided" and r["case_id"] == "EX00-L")
    reading = Reading.objects.get(assignment__reader__username="r1", assignment__arm__kind="unaided", exam__label="EX00")
    assert float(first["rating"]) == pytest.approx(reading.left_probability / 100) and first["truth"] == "1" and first["cluster_id"] == "EX00"
    assert AuditEvent.objects.filter(action="export", actor_username="stat").exists()


def test_page_shows_what_the_statistics_module_computes(client, make_user, study):
    make_user("stat", "statistician")
    client.login(username="stat", password="pw-stat")
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200
    results = page.context["r"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/analysis/studies/{study.pk}/ratings.csv").content.decode())))
    expected = report.analyse(ratings_from_rows(rows), model_modality="model", reader_modality="unaided",
                              replicates=10_000, seed=study.seed).to_dict()
    assert results["bootstrap"]["readers"] == expected["bootstrap"]["readers"]
    assert results["bootstrap"]["model"]["auc"] == pytest.approx(expected["bootstrap"]["model"]["auc"])
    assert results["mrmc"]["comparisons"][0]["rrrc"]["p"] == pytest.approx(expected["mrmc"]["comparisons"][0]["rrrc"]["p"])
    html = page.content.decode()
    assert f"{results['bootstrap']['reader_average']['auc']:.4f}" in html
    assert "random readers, random cases" in html and "seed 11" in html
    for name in ("roc.png", "roc.svg", "roc.pdf", "summary.pdf", "lambda_sweep.png", "results.json"):
        assert name in page.context["files"]
        assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/{name}").status_code == 200
    assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/../../secret").status_code == 404
    assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/other.txt").status_code == 404


def test_subgroup_and_single_arm(client, make_user, study):
    make_user("stat", "statistician")
    client.login(username="stat", password="pw-stat")
    page = client.get(f"/analysis/studies/{study.pk}/", {"scope": "unaided", "subgroup": "density:A"})
    assert page.status_code == 200
    assert page.context["r"]["n_cases"] == N_EXAMS  # half of the exams, two breasts each
    assert page.context["r"]["mrmc"] is None
    assert page.context["result"].subgroups == {"density": ["A", "B"]}


def test_blinding(client, make_user, study):
    make_user("ann", "reader")
    make_user("coord", "coordinator")
    client.login(username="ann", password="pw-ann")
    assert client.get(f"/analysis/studies/{study.pk}/").status_code == 403
    assert client.get(f"/analysis/studies/{study.pk}/ratings.csv").status_code == 403
    client.login(username="coord", password="pw-coord")
    assert client.get(f"/analysis/studies/{study.pk}/").status_code == 403  # answers blinded until closed
    study.status = "closed"
    study.save()
    assert client.get(f"/analysis/studies/{study.pk}/").status_code == 200


def test_nothing_to_analyse_is_explained(client, make_user):
    make_user("stat", "statistician")
    client.login(username="stat", password="pw-stat")
    empty = Study.objects.create(name="Empty")
    page = client.get(f"/analysis/studies/{empty.pk}/")
    assert page.status_code == 200 and b"no submitted readings" in page.content


def test_api_gives_the_same_results_by_token(client, make_user, study):
    from rest_framework.authtoken.models import Token

    stat = make_user("stat", "statistician")
    token = Token.objects.create(user=stat)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    response = client.get(f"/api/analysis/studies/{study.pk}/", {"scope": "unaided"}, **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["results"]["bootstrap"]["reader_modality"] == "unaided" and "roc.pdf" in body["files"]
    export = client.get(f"/api/analysis/studies/{study.pk}/ratings.csv", **auth)
    assert export.status_code == 200 and export.content.startswith(b"reader_id,modality,case_id,truth,rating,cluster_id")
    reader = make_user("ann", "reader")
    reader_auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=reader).key}"}
    assert client.get(f"/api/analysis/studies/{study.pk}/", **reader_auth).status_code == 403
    assert client.get(f"/api/analysis/studies/{study.pk}/").status_code in (401, 403)
    assert client.get(f"/api/analysis/studies/{study.pk}/", {"scope": "nonsense"}, **auth).status_code == 400
