"""Iterating import sources safely (pure): folders, zips, size limits, zip bombs."""
import io
import zipfile

import pytest

from readerstudy.exams.rejections import RejectedFile
from readerstudy.exams.sources import Limits, iter_paths, iter_stream, kind_of, read_bounded


def zip_of(entries: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    buffer.seek(0)
    return buffer


def reasons(sources) -> dict[str, str | None]:
    return {s.name: (s.rejection.reason_code if s.rejection else None) for s in sources}


def test_folder_walk_is_sorted_recursive_and_skips_os_litter(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.dcm").write_bytes(b"two")
    (tmp_path / "1.dcm").write_bytes(b"one")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    got = [(s.name, s.data) for s in iter_paths([tmp_path])]
    assert got == [(f"{tmp_path.name}/1.dcm", b"one"), (f"{tmp_path.name}/b/2.dcm", b"two")]


def test_missing_path_is_reported(tmp_path):
    assert reasons(iter_paths([tmp_path / "nope"])) == {str(tmp_path / "nope"): "not_dicom_or_png"}


def test_size_limit_for_files_and_zip_entries(tmp_path):
    (tmp_path / "big.dcm").write_bytes(b"x" * 101)
    assert reasons(iter_paths([tmp_path / "big.dcm"], Limits(max_file_bytes=100))) == {"big.dcm": "file_too_large"}
    archive = zip_of({"big.dcm": bytes(range(256)) * 2, "ok.dcm": b"y" * 10})
    assert reasons(iter_stream("a.zip", archive, Limits(max_file_bytes=100))) == {
        "a.zip/big.dcm": "file_too_large", "a.zip/ok.dcm": None}


@pytest.mark.parametrize("name, reason", [
    ("/etc/passwd", "zip_absolute_path"), ("C:/Windows/x.dcm", "zip_absolute_path"),
    ("\\\\server\\share\\x.dcm", "zip_absolute_path"), ("../x.dcm", "zip_parent_path"),
    ("a/../../x.dcm", "zip_parent_path"), ("a\\..\\x.dcm", "zip_parent_path"), ("a/b..c.dcm", None),
])
def test_unsafe_entry_names(name, reason):
    assert list(reasons(iter_stream("a.zip", zip_of({name: b"data"}))).values()) == [reason]


def test_zip_bomb_by_ratio_and_by_total():
    bomb = zip_of({"bomb.dcm": b"\0" * (4 << 20)})
    assert reasons(iter_stream("b.zip", bomb)) == {"b.zip/bomb.dcm": "zip_bomb"}
    many = zip_of({f"{i}.dcm": bytes(range(256)) * 40 for i in range(5)})
    assert reasons(iter_stream("m.zip", many, Limits(max_archive_bytes=40000))) == {"m.zip": "zip_bomb"}


def test_lying_sizes_and_garbage_are_corrupt_not_crashes():
    archive = zip_of({"a.dcm": b"z" * 1000}).getvalue()
    damaged = archive.replace(b"z" * 10, b"q" * 10, 1) if b"z" * 10 in archive else archive[:-30] + b"\0" * 30
    got = reasons(iter_stream("d.zip", io.BytesIO(damaged)))
    assert set(got.values()) <= {"corrupt_zip", None}
    assert reasons(iter_stream("g.zip", io.BytesIO(b"PK\x03\x04" + b"\x01" * 100))) == {"g.zip": "corrupt_zip"}


def test_nested_archives_are_not_expanded():
    inner = zip_of({"a.dcm": b"x"}).getvalue()
    assert reasons(iter_stream("o.zip", zip_of({"inner.zip": inner}))) == {"o.zip/inner.zip": "nested_archive"}


def test_macos_litter_in_zips_is_skipped():
    archive = zip_of({"__MACOSX/._a.dcm": b"x", "a.dcm": b"y", "dir/._b.dcm": b"z"})
    assert reasons(iter_stream("m.zip", archive)) == {"m.zip/a.dcm": None}


def test_kind_sniffing():
    assert kind_of("x", b"\0" * 128 + b"DICM") == "dicom"
    assert kind_of("x", b"\x89PNG\r\n\x1a\n") == "png"
    assert kind_of("x", b"PK\x03\x04") == "zip"
    assert kind_of("list.json", b"[]") == "exam_list"
    assert kind_of("list.csv", b"exam_id,horizontal_flip,L-CC\n") == "exam_list"
    assert kind_of("truth.csv", b"exam_id,side,malignant,benign\n") == "truth_csv"
    assert kind_of("notes.txt", b"hello") is None


def test_read_bounded_reads_exactly_whatever_the_stream_claims(tmp_path):
    data = bytes(range(256)) * 40
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with path.open("rb") as handle:
        handle.read(7)
        assert read_bounded(handle, 1 << 20) == data[7:]  # a real file: the rest of it
    assert read_bounded(io.BytesIO(data), 1 << 20) == data
    assert read_bounded(io.BytesIO(data), 1 << 20, size_hint=10) == data  # a hint too small: read on
    assert read_bounded(io.BytesIO(data), 1 << 20, size_hint=10 ** 6) == data  # too large: stop at the end
    with pytest.raises(RejectedFile) as caught:
        read_bounded(io.BytesIO(data), len(data) - 1, size_hint=5)
    assert caught.value.reason_code == "file_too_large"
    assert read_bounded(io.BytesIO(data), len(data)) == data
