"""Statistician pages, the analysis API and exports on small crossover studies run through the services:
memberships, assignments by sequence group, submissions, amendments, closing and unblinding."""
import csv
import io
import itertools
import json

import numpy as np
import pytest
from rest_framework.authtoken.models import Token

from readerstudy.analysis import report
from readerstudy.analysis.crossover import AIDED_FIRST, UNAIDED_FIRST
from readerstudy.analysis.ratings import ratings_from_rows
from readerstudy.analysis.study_analysis import FIXED_SEQUENCE_NOTE
from readerstudy.analysis.study_ratings import study_ratings
from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import BreastTruth, Exam
from readerstudy.exams.truth import import_truth_report
from readerstudy.predictions.models import ModelRun, Prediction
from readerstudy.studies import amendments, lifecycle, submission
from readerstudy.studies.models import Arm, Membership, Reading, ReadingRevision
from tests.studies.factories import answers, completed_run, make_exams, make_study

pytestmark = pytest.mark.django_db
N_EXAMS = 16
_keys = itertools.count()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    return {"coord": make_user("coord", "coordinator"), "stat": make_user("stat", "statistician"),
            "other": make_user("other", "coordinator"), **{name: make_user(name, "reader") for name in ("r1", "r2", "r3", "r4")}}


def exams_with_truth(n=N_EXAMS, prefix="EX"):
    """Exams with a density attribute; their ground truth imported as a truth version."""
    exams = make_exams(n, prefix=prefix, with_truth=False)
    lines = ["exam_id,side,malignant,benign"]
    for i, exam in enumerate(exams):
        Exam.objects.filter(pk=exam.pk).update(attributes={"density": "AB"[i % 2]})
        lines += [f"{exam.label},L,{int(i % 4 == 0)},0", f"{exam.label},R,{int(i % 5 == 1)},{int(i % 3 == 0)}"]
    result = import_truth_report("\n".join(lines) + "\n", reason="test")
    assert not result.errors and result.version is not None
    return exams


def truth_of(exam_id):
    return {t.side: t.malignant for t in BreastTruth.objects.filter(exam_id=exam_id)}


def read_session(study, reader, session, rng, signal=40.0):
    """Submit every exam not yet submitted of the reader's assignments in `session`; probabilities carry `signal` for malignant breasts."""
    for assignment in reader.assignments.filter(arm__study=study, session=session).order_by("arm__position"):
        done = set(assignment.readings.filter(status="submitted").values_list("exam_id", flat=True))
        for exam_id in assignment.case_order:
            if exam_id in done:
                continue
            truth = truth_of(exam_id)
            values = {side: float(np.clip(signal * truth[side] + rng.uniform(0, 60), 0, 100)) for side in "LR"}
            submission.submit(assignment, exam_id, {**answers(), "left_probability": values["L"], "right_probability": values["R"]},
                              client_key=f"k{next(_keys)}")


def run_study(people, *, name="Crossover", readers=("r1", "r2", "r3"), status="closed", signal=None, seed=7, **options):
    """A study with the statistician and `readers` as members, read in full (both sessions), then closed."""
    coord = people["coord"]
    study = make_study(coord, name=name, exams=exams_with_truth(prefix=name[:4].upper()), readers=[people[r] for r in readers],
                       statisticians=[people["stat"]], status="open", **options)
    rng = np.random.default_rng(seed)
    run = study.arms.get(kind=Arm.Kind.AI_AIDED).model_run
    for prediction in Prediction.objects.filter(run=run):
        truth = truth_of(prediction.exam_id)
        prediction.left_malignant = float(np.clip(0.3 * truth["L"] + rng.uniform(0, 0.7), 0, 1))
        prediction.right_malignant = float(np.clip(0.3 * truth["R"] + rng.uniform(0, 0.7), 0, 1))
        prediction.save()
    for reader in readers:
        for session in (1, 2):
            read_session(study, people[reader], session, rng, signal=(signal or {}).get(session, 40.0))
    if status == "closed":
        lifecycle.close_study(study, coord)
    return study


@pytest.fixture
def study(people):
    return run_study(people)


def login(client, user):
    client.force_login(user)
    return client


def test_export_is_the_long_format_with_sequence_group_and_period(client, people, study):
    login(client, people["stat"])
    response = client.get(f"/analysis/studies/{study.pk}/ratings.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == ["reader_id", "modality", "case_id", "truth", "rating", "cluster_id", "sequence_group", "period"]
    # 3 readers x 2 arms x 32 breasts, plus the model's 32 breasts
    assert len(rows) == 3 * 2 * 2 * N_EXAMS + 2 * N_EXAMS
    label = Exam.objects.filter(label__startswith="CROS").order_by("label").first().label
    first = next(r for r in rows if r["reader_id"] == "r1" and r["modality"] == "unaided" and r["case_id"] == f"{label}-L")
    reading = Reading.objects.get(assignment__reader__username="r1", assignment__arm__kind="unaided", exam__label=label)
    group = Membership.objects.get(study=study, user__username="r1").sequence_group
    assert float(first["rating"]) == pytest.approx(reading.left_probability / 100) and first["truth"] == "1" and first["cluster_id"] == label
    assert first["sequence_group"] == group and first["period"] == str(reading.assignment.session)
    assert first["period"] == ("1" if group == UNAIDED_FIRST else "2")
    model = [r for r in rows if r["modality"] == "model"]
    assert model and all(r["sequence_group"] == "" and r["period"] == "" for r in model)
    assert AuditEvent.objects.filter(action="export", actor_username="stat").exists()


def test_page_shows_what_the_statistics_module_computes(client, people, study):
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200
    results = page.context["r"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/analysis/studies/{study.pk}/ratings.csv").content.decode())))
    expected = report.analyse(ratings_from_rows(rows), model_modality="model", reader_modality="unaided",
                              replicates=10_000, seed=study.seed, lam=study.hybrid_lambda).to_dict()
    assert results["bootstrap"]["readers"] == expected["bootstrap"]["readers"]
    assert results["bootstrap"]["model"]["auc"] == pytest.approx(expected["bootstrap"]["model"]["auc"])
    assert results["bootstrap"]["lam"] == study.hybrid_lambda
    assert results["mrmc"]["comparisons"][0]["rrrc"]["p"] == pytest.approx(expected["mrmc"]["comparisons"][0]["rrrc"]["p"])
    provenance = results["provenance"]
    assert provenance["protocol_version"] == study.protocol_version == 1 and provenance["truth_version"] == 1
    assert provenance["answers"] == "first" and provenance["hybrid_lambda"] == 0.5
    assert results["lam_sweep"]["exploratory"] is True and results["lam_sweep"]["primary_lam"] == 0.5
    html = page.content.decode()
    assert f"{results['bootstrap']['reader_average']['auc']:.4f}" in html
    assert "random readers, random cases" in html and f"seed {study.seed}" in html
    assert "Primary analysis: first submitted answers" in html and "Secondary analysis" not in html
    assert "Hybrid weight sweep (exploratory)" in html and "Protocol version 1" in html and "ground-truth version 1" in html
    for name in ("roc.png", "roc.svg", "roc.pdf", "summary.pdf", "lambda_sweep.png", "results.json"):
        assert name in page.context["files"]
        assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/{name}").status_code == 200
    assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/../../secret").status_code == 404
    assert client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/other.txt").status_code == 404


def test_subgroup_and_single_arm(client, people, study):
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/", {"scope": "unaided", "subgroup": "density:A"})
    assert page.status_code == 200
    assert page.context["r"]["n_cases"] == N_EXAMS  # half of the exams, two breasts each
    assert page.context["r"]["mrmc"] is None
    assert page.context["r"]["crossover"] is None and "scope both" in page.context["r"]["crossover_note"]
    assert page.context["result"].subgroups == {"density": ["A", "B"]}
    assert client.get(f"/analysis/studies/{study.pk}/", {"answers": "latest"}).status_code == 400


def test_blinded_for_every_role_until_unblinded(client, people):
    study = run_study(people, status="open")
    urls = [f"/analysis/studies/{study.pk}/", f"/analysis/studies/{study.pk}/ratings.csv",
            f"/analysis/studies/{study.pk}/files/x/results.json"]
    for name in ("stat", "coord", "r1", "other"):
        login(client, people[name])
        assert [client.get(url).status_code for url in urls] == [403, 403, 403], name
    token = Token.objects.create(user=people["stat"])
    api = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get(f"/api/analysis/studies/{study.pk}/", **api).status_code == 403
    assert client.get(f"/api/analysis/studies/{study.pk}/ratings.csv", **api).status_code == 403

    lifecycle.unblind(study, people["coord"], "interim")
    for name in ("stat", "coord"):
        login(client, people[name])
        assert client.get(urls[0]).status_code == 200 and client.get(urls[1]).status_code == 200
    assert client.get(f"/api/analysis/studies/{study.pk}/", **api).status_code == 200
    for name in ("r1", "other"):  # a reader of the study, and a coordinator of another study
        login(client, people[name])
        assert client.get(urls[0]).status_code == 403 and client.get(urls[1]).status_code == 403


def test_coordinator_of_another_study_gets_403(client, people, study):
    lifecycle.create_study(people["other"], name="Other study")
    login(client, people["other"])
    assert client.get(f"/analysis/studies/{study.pk}/").status_code == 403
    assert client.get(f"/analysis/studies/{study.pk}/ratings.csv").status_code == 403
    index = client.get("/analysis/")
    assert index.status_code == 200 and "Crossover" not in index.content.decode()
    api = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=people['other']).key}"}
    assert client.get(f"/api/analysis/studies/{study.pk}/", **api).status_code == 403
    login(client, people["coord"])
    assert client.get(f"/analysis/studies/{study.pk}/").status_code == 200  # its own coordinator, once closed


def test_index_lists_unblinded_studies_and_greys_blinded_ones(client, people, study):
    blinded = make_study(people["coord"], name="Still open", exams=make_exams(2, prefix="SO"), statisticians=[people["stat"]])
    login(client, people["stat"])
    page = client.get("/analysis/")
    html = page.content.decode()
    assert page.status_code == 200
    assert [s.pk for s in page.context["studies"]] == [study.pk] and [s.pk for s in page.context["blinded"]] == [blinded.pk]
    assert f"/analysis/studies/{study.pk}/" in html and f"/analysis/studies/{blinded.pk}/" not in html
    assert "Still open" in html and "blinded until closed or unblinded" in html
    login(client, people["r1"])
    assert client.get("/analysis/").status_code == 403


def test_nothing_to_analyse_is_explained(client, people):
    empty = make_study(people["coord"], name="Empty", exams=make_exams(2, prefix="EM"), statisticians=[people["stat"]], status="closed")
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{empty.pk}/")
    assert page.status_code == 200 and b"no submitted readings" in page.content


def test_api_gives_the_same_results_by_token(client, people, study):
    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=people['stat']).key}"}
    response = client.get(f"/api/analysis/studies/{study.pk}/", {"scope": "unaided"}, **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["results"]["bootstrap"]["reader_modality"] == "unaided" and "roc.pdf" in body["files"]
    assert body["answers"] == "first" and body["analysis"] == "Primary analysis: first submitted answers"
    assert body["protocol_version"] == 1 and body["truth_version"] == 1 and body["has_amendments"] is False
    export = client.get(f"/api/analysis/studies/{study.pk}/ratings.csv", **auth)
    assert export.status_code == 200
    assert export.content.startswith(b"reader_id,modality,case_id,truth,rating,cluster_id,sequence_group,period")
    reader_auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=people['r1']).key}"}
    assert client.get(f"/api/analysis/studies/{study.pk}/", **reader_auth).status_code == 403
    assert client.get(f"/api/analysis/studies/{study.pk}/").status_code in (401, 403)
    assert client.get(f"/api/analysis/studies/{study.pk}/", {"scope": "nonsense"}, **auth).status_code == 400
    assert client.get(f"/api/analysis/studies/{study.pk}/", {"answers": "nonsense"}, **auth).status_code == 400


def test_primary_analysis_uses_the_first_answers_after_an_amendment(client, people):
    coord, reader = people["coord"], people["r1"]
    study = make_study(coord, name="Amended", exams=exams_with_truth(prefix="AM"), readers=[reader, people["r2"]],
                       statisticians=[people["stat"]], allow_amendments=True)
    rng = np.random.default_rng(3)
    # r1 submits the first exam of session 1, amends it inside the open session, then reads the rest.
    assignment = reader.assignments.filter(arm__study=study, session=1).get()
    exam_id = assignment.case_order[0]
    reading, _ = submission.submit(assignment, exam_id, answers(10.0), client_key="first-answer")
    amendments.amend(reading.pk, reader, answers(90.0), "typo")
    for name in ("r1", "r2"):
        for session in (1, 2):
            read_session(study, people[name], session, rng)
    lifecycle.close_study(study, coord)
    reading.refresh_from_db()
    assert reading.left_probability == 90.0 and reading.revision == 1
    assert ReadingRevision.objects.get(reading=reading, number=0).left_probability == 10.0

    label = Exam.objects.get(pk=exam_id).label
    kind = assignment.arm.kind

    def rating(answers_mode):
        rows = study_ratings(study, answers=answers_mode).rows
        return next(r["rating"] for r in rows if r["reader_id"] == "r1" and r["modality"] == kind and r["case_id"] == f"{label}-L")

    assert rating("first") == pytest.approx(0.10) and rating("amended") == pytest.approx(0.90)

    login(client, people["stat"])
    def exported(**params):
        text = client.get(f"/analysis/studies/{study.pk}/ratings.csv", params).content.decode()
        return next(float(r["rating"]) for r in csv.DictReader(io.StringIO(text))
                    if r["reader_id"] == "r1" and r["modality"] == kind and r["case_id"] == f"{label}-L")

    assert exported() == pytest.approx(0.10) and exported(answers="amended") == pytest.approx(0.90)
    page = client.get(f"/analysis/studies/{study.pk}/")
    html = page.content.decode()
    assert page.context["r"]["provenance"]["answers"] == "first"
    assert "Primary analysis: first submitted answers" in html and "Secondary analysis: amended answers" in html
    secondary = client.get(f"/analysis/studies/{study.pk}/", {"answers": "amended"})
    assert secondary.status_code == 200 and secondary.context["r"]["provenance"]["answers"] == "amended"
    assert secondary.context["key"] != page.context["key"]
    reader_aucs = {(r["modality"], r["reader"]): r["auc"] for r in page.context["r"]["reader_aucs"]}
    secondary_aucs = {(r["modality"], r["reader"]): r["auc"] for r in secondary.context["r"]["reader_aucs"]}
    assert reader_aucs[(kind, "r1")] != secondary_aucs[(kind, "r1")]
    api = client.get(f"/api/analysis/studies/{study.pk}/", {"answers": "amended"})
    assert api.status_code == 200 and api.json()["analysis"] == "Secondary analysis: amended answers"
    assert api.json()["has_amendments"] is True


def test_only_the_arms_run_is_analysed(client, people, study):
    arm_run = study.arms.get(kind=Arm.Kind.AI_AIDED).model_run
    exam_ids = list(Prediction.objects.filter(run=arm_run).values_list("exam_id", flat=True))
    # A newer failed run and a newer completed run over the same exams, neither the arm's: ignored.
    failed = completed_run(exam_ids, name="failed model", malignant=0.9)
    ModelRun.objects.filter(pk=failed.pk).update(status=ModelRun.Status.FAILED)
    completed_run(exam_ids, name="other model", malignant=0.8)
    data = study_ratings(study)
    assert data.model_run == arm_run
    model_rows = [r for r in data.rows if r["modality"] == "model"]
    assert {r["reader_id"] for r in model_rows} == {f"model:{arm_run.model_version.name}"}
    assert not any(r["rating"] in (0.8, 0.9) for r in model_rows)
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.context["result"].model_run == arm_run and page.context["r"]["provenance"]["model_run"] == arm_run.pk
    # The arm's own run, were it not completed, gives no model at all (never a fallback).
    ModelRun.objects.filter(pk=arm_run.pk).update(status=ModelRun.Status.FAILED)
    data = study_ratings(study)
    assert data.model_run is None and not any(r["modality"] == "model" for r in data.rows)
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200 and page.context["r"]["bootstrap"] is None
    assert "the AI-aided arm has no completed model run" in page.content.decode()


def test_counterbalanced_study_shows_both_sequence_groups_and_the_period_check(client, people):
    # Readers do better in period 2 (a period effect), whatever the modality.
    study = run_study(people, name="Counterbalanced", readers=("r1", "r2", "r3", "r4"), signal={1: 15.0, 2: 60.0})
    groups = dict(Membership.objects.filter(study=study, role="reader").values_list("user__username", "sequence_group"))
    assert sorted(groups.values()) == [AIDED_FIRST, AIDED_FIRST, UNAIDED_FIRST, UNAIDED_FIRST]
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200
    x = page.context["r"]["crossover"]
    by_group = {g["sequence_group"]: g for g in x["groups"]}
    assert set(by_group) == {UNAIDED_FIRST, AIDED_FIRST}
    assert all(g["readers"] == 2 for g in x["groups"])
    assert sorted(by_group[UNAIDED_FIRST]["reader_ids"]) == sorted(r for r, g in groups.items() if g == UNAIDED_FIRST)
    period = x["period_effect"]
    assert period["estimable"] and period["df"] == 2 and period["estimate"] > 0
    d = {r["reader"]: r["period_difference"] for r in x["readers"]}
    mean = {g: np.mean([d[r] for r in by_group[g]["reader_ids"]]) for g in (UNAIDED_FIRST, AIDED_FIRST)}
    assert period["estimate"] == pytest.approx((mean[UNAIDED_FIRST] + mean[AIDED_FIRST]) / 2)
    # Each reader's period AUCs are those of the period's readings (not split: the modality's readings).
    per_reader = {(r["modality"], r["reader"]): r["auc"] for r in page.context["r"]["reader_aucs"]}
    for r in x["readers"]:
        assert r["period_1_auc"] == pytest.approx(per_reader[(r["period_1_modality"], r["reader"])])
        assert r["period_2_auc"] == pytest.approx(per_reader[(r["period_2_modality"], r["reader"])])
    html = page.content.decode()
    assert "Crossover: sequence groups and period effect" in html
    assert UNAIDED_FIRST in html and AIDED_FIRST in html and "Period effect (period 2 − period 1)" in html
    assert page.context["r"]["mrmc"] is not None  # beside the MRMC result
    assert "crossover.csv" in page.context["files"]
    table = client.get(f"/analysis/studies/{study.pk}/files/{page.context['key']}/crossover.csv")
    assert table.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(table.streaming_content).decode())))
    assert [r["row"] for r in rows].count("reader") == 4 and {r["row"] for r in rows} >= {"group", "period_effect"}
    results = json.loads(b"".join(client.get(
        f"/analysis/studies/{study.pk}/files/{page.context['key']}/results.json").streaming_content))
    assert results["crossover"]["period_effect"]["estimate"] == pytest.approx(period["estimate"])
    api = client.get(f"/api/analysis/studies/{study.pk}/").json()
    assert api["crossover"]["period_effect"]["t"] == pytest.approx(period["t"])


def test_split_halves_keep_the_mrmc_and_give_period_cells(client, people):
    study = run_study(people, name="Split", readers=("r1", "r2", "r3", "r4"), split_cases=True)
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200
    r = page.context["r"]
    assert r["mrmc"] is not None and r["n_cases"] == 2 * N_EXAMS  # every case in both modalities, as without a split
    x = r["crossover"]
    assert x is not None and sum(g["readers"] for g in x["groups"]) + len(x["left_out"]) == 4


def test_fixed_sequence_study_has_no_period_check(client, people):
    study = run_study(people, name="Fixed", readers=("r1", "r2"), sequence_design="unaided_first")
    login(client, people["stat"])
    page = client.get(f"/analysis/studies/{study.pk}/")
    assert page.status_code == 200 and page.context["r"]["crossover"] is None
    assert page.context["r"]["crossover_note"] == FIXED_SEQUENCE_NOTE and FIXED_SEQUENCE_NOTE in page.content.decode()
    assert "crossover.csv" not in page.context["files"]
