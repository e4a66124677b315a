"""make_phantoms, import_exams and import_truth from the command line."""
import pytest
from django.core.management import CommandError, call_command

from readerstudy.exams.models import BreastTruth, Exam, Image

pytestmark = pytest.mark.django_db


def test_make_import_and_truth(media_root, tmp_path, capsys):
    out = tmp_path / "ph"
    call_command("make_phantoms", "2", "--out", str(out), "--size", "256x208", "--seed", "3", verbosity=0)
    assert len(list(out.glob("*.dcm"))) == 8 and (out / "truth.csv").exists()
    call_command("import_exams", str(out), "--no-progress")
    assert "8 file(s) imported into 2 exam(s), 0 rejected." in capsys.readouterr().out
    call_command("import_truth", str(out / "truth.csv"))
    assert "ground truth stored for 4 breast(s)" in capsys.readouterr().out
    assert Exam.objects.count() == 2 and Image.objects.count() == 8 and BreastTruth.objects.count() == 4


def test_png_phantoms_through_the_command(media_root, tmp_path, capsys):
    out = tmp_path / "png"
    call_command("make_phantoms", "1", "--out", str(out), "--size", "256x208", "--format", "png", verbosity=0)
    call_command("import_exams", str(out), "--no-progress", "--no-identifier-map")
    assert "4 file(s) imported into 1 exam(s)" in capsys.readouterr().out
    assert not Exam.objects.filter(identifier_map__isnull=False).exists()


def test_rejections_are_listed_and_can_fail_the_command(media_root, tmp_path, capsys):
    (tmp_path / "junk.txt").write_text("nothing")
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_exams", str(tmp_path), "--no-progress", "--fail-on-reject")
    out = capsys.readouterr().out
    assert "REJECTED" in out and "junk.txt: not_dicom_or_png" in out


def test_truth_errors_fail_the_command(media_root, tmp_path):
    (tmp_path / "t.csv").write_text("exam_id,side,malignant,benign\nNOPE,L,0,0\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_truth", str(tmp_path / "t.csv"))


def test_bad_size_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="not HxW"):
        call_command("make_phantoms", "1", "--out", str(tmp_path), "--size", "big")
