"""The command line: JSON shapes on stdout, exit status 2 with one clear message for bad input."""
import json
import re

import numpy as np
import pytest

from readerstudy.analysis.cli import main
from tests.analysis.reference_data import nyu_wide_path, reference_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def vandyke_long(tmp_path_factory):
    """Van Dyke in the long format (renamed columns), written to a temporary file."""
    import csv

    path = tmp_path_factory.mktemp("vandyke") / "vandyke_long.csv"
    with reference_path("vandyke.csv").open(newline="") as src, path.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["reader_id", "modality", "case_id", "truth", "rating"])
        for row in csv.DictReader(src):
            writer.writerow([row["reader"], row["treatment"], row["case"], row["truth"], row["rating"]])
    return path


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """3 readers, a model, 60 exams of 2 breasts; probabilities on [0, 1]."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("study") / "ratings.csv"
    truth = rng.random(120) < 0.2
    truth[:2] = [True, False]
    lines = ["reader_id,modality,case_id,truth,rating,cluster_id"]
    readers = {f"r{j}": np.clip(truth * 0.3 + rng.random(120) * 0.7, 0, 1) for j in range(3)}
    readers["net"] = np.clip(truth * 0.5 + rng.random(120) * 0.5, 0, 1)
    for name, scores in readers.items():
        modality = "model" if name == "net" else "unaided"
        for c in range(120):
            lines.append(f"{name},{modality},b{c},{int(truth[c])},{scores[c]:.3f},e{c // 2}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("covariance, F", [("jackknife", 4.46), ("delong", 4.48)])
def test_mrmc_json_shape_and_values(capsys, vandyke_long, covariance, F):
    code, out, err = run(capsys, "mrmc", "--input", vandyke_long, "--covariance", covariance)
    assert code == 0, err
    data = json.loads(out)
    assert data["covariance"] == covariance
    assert set(data["modalities"]["1"]["readers"]) == {"1", "2", "3", "4", "5"}
    assert round(data["modalities"]["2"]["mean_auc"], 8) == 0.94083736
    (comparison,) = data["comparisons"]
    assert comparison["modalities"] == ["1", "2"]
    assert set(comparison["rrrc"]) >= {"F", "df1", "df2", "p", "se", "ci"}
    assert set(comparison["frrc"]) >= {"statistic", "df", "p", "se", "ci"}
    assert set(comparison["rrfc"]) >= {"F", "df1", "df2", "p", "se", "ci"}
    assert round(comparison["rrrc"]["F"], 2) == F
    assert set(data["variance_components"]) >= {"var_error", "cov1", "cov2", "cov3"}


def test_bootstrap_json(capsys, small_study):
    code, out, err = run(capsys, "bootstrap", "--input", small_study, "--model-modality", "model",
                         "--replicates", 300, "--seed", 7, "--lam", 0.4)
    assert code == 0, err
    data = json.loads(out)
    assert (data["seed"], data["replicates"], data["lam"], data["n_clusters"]) == (7, 300, 0.4, 60)
    assert set(data["readers"]) == set(data["hybrids"]) == {"r0", "r1", "r2"}
    for entry in [data["model"], data["reader_average"], data["hybrid_average"], *data["readers"].values()]:
        assert entry["ci"][0] <= entry["auc"] <= entry["ci"][1]
    assert set(data["differences"]["hybrid_minus_reader"]) == {"r0", "r1", "r2"}
    again = run(capsys, "bootstrap", "--input", small_study, "--model-modality", "model",
                "--replicates", 300, "--seed", 7, "--lam", 0.4)[1]
    assert json.loads(again) == data


def test_exam_unit(capsys, small_study):
    code, out, _ = run(capsys, "bootstrap", "--input", small_study, "--model-modality", "model",
                       "--replicates", 50, "--seed", 1, "--unit", "exam")
    assert code == 0 and json.loads(out)["n_cases"] == 60


BAD_INPUTS = {
    "missing column": ("reader_id,modality,case_id,rating\nr,A,c,1\n", "missing column(s) truth"),
    "two truths": ("reader_id,modality,case_id,truth,rating\nr1,A,c1,1,3\nr1,A,c2,0,2\nr2,A,c1,0,4\nr2,A,c2,0,1\n",
                   "case 'c1' has two truths"),
    "non-numeric rating": ("reader_id,modality,case_id,truth,rating\nr1,A,c1,1,3\nr1,A,c2,0,low\n",
                           "line 3: rating 'low' is not a number"),
    "missing reading": ("reader_id,modality,case_id,truth,rating\nr1,A,c1,1,3\nr1,A,c2,0,2\nr2,A,c1,1,4\n",
                        "reader 'r2' in modality 'A' has no rating"),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("command", ["mrmc", "bootstrap", "report"])
def test_bad_input_exits_2_with_one_clear_message(capsys, tmp_path, kind, command):
    text, message = BAD_INPUTS[kind]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    extra = {"mrmc": [], "bootstrap": ["--model-modality", "A"], "report": ["--out", tmp_path / "out"]}[command]
    code, out, err = run(capsys, command, "--input", path, *extra)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["mrmc", "--input", "{missing}"], "no such file"),
    (["bootstrap", "--input", "{study}", "--model-modality", "absent"], "no modality 'absent'"),
    (["bootstrap", "--input", "{study}", "--model-modality", "unaided"], "exactly one reader"),
    (["mrmc", "--input", "{study}"], "same readers in every modality"),
    (["mrmc", "--input", "{study}", "--modalities", "unaided", "unaided"], "named once"),
])
def test_semantic_errors_exit_2(capsys, tmp_path, small_study, argv, message):
    argv = [a.format(missing=tmp_path / "absent.csv", study=small_study) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_argument_errors_exit_2(capsys, small_study):
    with pytest.raises(SystemExit) as exit_info:
        main(["bootstrap", "--input", str(small_study), "--model-modality", "model", "--lam", "2"])
    assert exit_info.value.code == 2
    assert "--lam" in capsys.readouterr().err


@pytest.mark.slow
def test_report_files_and_one_page_summary(capsys, tmp_path, small_study):
    out_dir = tmp_path / "report"
    code, out, err = run(capsys, "report", "--input", small_study, "--out", out_dir,
                         "--model-modality", "model", "--replicates", 200, "--seed", 3)
    assert code == 0, err
    expected = {"results.json", "reader_aucs.csv", "operating_points.csv", "bootstrap_aucs.csv", "lambda_sweep.csv",
                "roc.png", "roc.svg", "roc.pdf", "lambda_sweep.png", "lambda_sweep.svg", "lambda_sweep.pdf",
                "summary.pdf"}
    assert set(json.loads(out)["files"]) == expected
    assert all((out_dir / name).stat().st_size > 0 for name in expected)
    assert (out_dir / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out_dir / "roc.svg").read_bytes()[:500]
    summary = (out_dir / "summary.pdf").read_bytes()
    assert summary.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", summary)) == 1
    results = json.loads((out_dir / "results.json").read_text())
    assert results["bootstrap"]["seed"] == 3 and results["mrmc"] is None and "one (unaided)" in results["mrmc_note"]
    assert len(results["operating_points"]) == 4 and results["operating_threshold"] == 0.5


@pytest.mark.slow
def test_report_with_mrmc_and_no_model(capsys, tmp_path, vandyke_long):
    out_dir = tmp_path / "vd"
    code, out, err = run(capsys, "report", "--input", vandyke_long, "--out", out_dir, "--threshold", 3)
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    assert round(results["mrmc"]["comparisons"][0]["rrrc"]["F"], 2) == 4.46
    assert results["bootstrap"] is None and results["operating_points"][0]["threshold"] == 3
    assert (out_dir / "mrmc_comparisons.csv").read_text().count("\n") == 4  # header + 3 analyses


def test_convert_nyu(capsys, tmp_path):
    output = tmp_path / "nyu_long.csv"
    code, out, err = run(capsys, "convert-nyu", "--input", nyu_wide_path(), "--output", output,
                         "--models", "AI_GMIC_top1")
    assert code == 0, err
    assert list(json.loads(out)["modalities"]) == ["radiologists", "AI_GMIC_top1"]
    lines = output.read_text().splitlines()
    assert lines[0] == "reader_id,modality,case_id,truth,rating,cluster_id"
    assert len(lines) == 1 + 15 * 1440
    code, _, err = run(capsys, "convert-nyu", "--input", nyu_wide_path(), "--output", output, "--models", "AI_nope")
    assert code == 2 and "unknown model column" in err


def test_input_from_standard_input(capsys, monkeypatch, vandyke_long):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(vandyke_long.read_text()))
    code, out, err = run(capsys, "mrmc", "--input", "-")
    assert code == 0, err
    assert round(json.loads(out)["comparisons"][0]["rrrc"]["df2"], 2) == 15.26
