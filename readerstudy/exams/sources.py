"""Iterate the files of an import safely: single files, folders and zip archives (no Django here).

Nothing is ever extracted to disk: zip entries are read into memory one at a time through a
bounded reader, so a hostile archive can neither write outside a folder nor fill the disk.
Still, entry names that are absolute or climb with '..' are refused outright, each entry is held
to the per-file size limit (declared and actual), and an archive whose entries expand far beyond
their compressed size, or whose total expansion exceeds a budget, is refused as a zip bomb.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .dicom_reader import is_dicom
from .png_exams import is_png, looks_like_exam_list
from .rejections import RejectedFile

DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024
ZIP_SIGNATURE = b"PK\x03\x04"
EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_archive_bytes: int = 64 * 1024 ** 3  # total expansion of one archive
    max_ratio: float = 100.0  # expansion ratio beyond which a large entry counts as a bomb
    ratio_floor_bytes: int = 1024 * 1024  # small entries may compress extremely well


@dataclass
class SourceFile:
    """One file to import: its name as the user knows it, and its bytes or why it was refused."""

    name: str
    data: bytes | None = None
    rejection: RejectedFile | None = None

    @property
    def base_name(self) -> str:
        return self.name.replace("\\", "/").rsplit("/", 1)[-1]


def kind_of(name: str, data: bytes) -> str | None:
    """'dicom', 'png', 'zip', 'exam_list', 'truth_csv', or None when the content is none of these."""
    if is_dicom(data):
        return "dicom"
    if is_png(data):
        return "png"
    if data.startswith(ZIP_SIGNATURE) or data.startswith(EMPTY_ZIP_SIGNATURE):
        return "zip"
    if looks_like_exam_list(name, data):
        return "exam_list"
    if name.lower().endswith(".csv") and all(word in data[:1024].lower() for word in (b"side", b"malignant")):
        return "truth_csv"
    return None


def ignored(name: str) -> bool:
    """Operating-system litter that is silently skipped (macOS resource forks, Finder files)."""
    parts = name.replace("\\", "/").split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] in (".DS_Store", "Thumbs.db")


def iter_paths(paths: Iterable[str | Path], limits: Limits = Limits()) -> Iterator[SourceFile]:
    """Files given on a command line: files, folders (recursively, sorted) and zip archives."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for file_name in sorted(files):
                    full = Path(root) / file_name
                    relative = str(full.relative_to(path.parent))
                    if not ignored(relative):
                        yield from _iter_file(full, relative, limits)
        elif path.exists():
            yield from _iter_file(path, path.name, limits)
        else:
            yield SourceFile(str(path), rejection=RejectedFile("not_dicom_or_png", "no such file or folder"))


def _iter_file(path: Path, name: str, limits: Limits) -> Iterator[SourceFile]:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        yield SourceFile(name, rejection=_too_large(size, limits.max_file_bytes))
        return
    with path.open("rb") as handle:
        yield from iter_stream(name, handle, limits)


def iter_stream(name: str, handle: BinaryIO, limits: Limits = Limits()) -> Iterator[SourceFile]:
    """One uploaded or opened file; a zip archive is expanded into its entries."""
    head = handle.read(8)
    handle.seek(0)
    if head.startswith(ZIP_SIGNATURE) or head.startswith(EMPTY_ZIP_SIGNATURE):
        yield from iter_zip(name, handle, limits)
        return
    try:
        data = read_bounded(handle, limits.max_file_bytes)
    except RejectedFile as rejection:
        yield SourceFile(name, rejection=rejection)
        return
    yield SourceFile(name, data)


def iter_zip(name: str, handle: BinaryIO, limits: Limits = Limits()) -> Iterator[SourceFile]:
    try:
        archive = zipfile.ZipFile(handle)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        yield SourceFile(name, rejection=RejectedFile("corrupt_zip", f"cannot read the archive: {exc}"))
        return
    files = [entry for entry in entries if not entry.is_dir() and not ignored(entry.filename)]
    declared_total = sum(entry.file_size for entry in files)
    if declared_total > limits.max_archive_bytes:
        yield SourceFile(name, rejection=RejectedFile(
            "zip_bomb", f"the archive would expand to {declared_total} bytes, over the budget of "
                        f"{limits.max_archive_bytes}"))
        return
    with archive:
        for entry in files:
            entry_name = f"{name}/{entry.filename}"
            try:
                check_entry(entry, limits)
                with archive.open(entry) as member:
                    data = read_bounded(member, limits.max_file_bytes, entry.file_size)
            except RejectedFile as rejection:
                yield SourceFile(entry_name, rejection=rejection)
                continue
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                # Wrong CRC, lying sizes, encryption, unknown compression method.
                yield SourceFile(entry_name, rejection=RejectedFile("corrupt_zip", f"cannot read the entry: {exc}"))
                continue
            if data.startswith(ZIP_SIGNATURE) or data.startswith(EMPTY_ZIP_SIGNATURE):
                yield SourceFile(entry_name, rejection=RejectedFile("nested_archive"))
                continue
            yield SourceFile(entry_name, data)


def check_entry(entry: zipfile.ZipInfo, limits: Limits) -> None:
    """Refuse an entry from its central-directory record, before reading a byte of it."""
    raw = entry.orig_filename if hasattr(entry, "orig_filename") else entry.filename
    name = raw.replace("\\", "/")
    if name.startswith("/") or DRIVE.match(name):
        raise RejectedFile("zip_absolute_path", f"entry name {raw!r} is absolute")
    if ".." in name.split("/"):
        raise RejectedFile("zip_parent_path", f"entry name {raw!r} contains '..'")
    if entry.file_size > limits.ratio_floor_bytes:
        ratio = entry.file_size / max(1, entry.compress_size)
        if ratio > limits.max_ratio:
            raise RejectedFile("zip_bomb", f"the entry expands {ratio:.0f}-fold "
                                           f"({entry.compress_size} to {entry.file_size} bytes)")
    if entry.file_size > limits.max_file_bytes:
        raise RejectedFile("file_too_large", f"the entry expands to {entry.file_size} bytes, over the "
                                             f"limit of {limits.max_file_bytes}")


def read_bounded(handle: BinaryIO, limit: int, size_hint: int | None = None) -> bytes:
    """Read a whole stream, refusing it as soon as it passes `limit` bytes (declared sizes lie).

    The first read asks for no more than the bytes the stream says it holds (`size_hint`, or
    what a real file or an in-memory upload tells): asking for `limit` bytes makes Python
    allocate that much and shrink it again, 15 ms instead of 3 for a 27 MB mammogram."""
    expected = size_hint if size_hint is not None else _bytes_left(handle)
    data = handle.read(min(expected, limit) + 1)
    while len(data) <= limit:  # the stream holds more than it said, or could not tell
        more = handle.read(limit + 1 - len(data))
        if not more:
            return data
        data += more
    raise _too_large(None, limit)


def _bytes_left(handle) -> int:
    try:
        return max(0, os.fstat(handle.fileno()).st_size - handle.tell())
    except (AttributeError, OSError, ValueError):  # no file behind it
        pass
    if isinstance(handle, io.BytesIO):
        return max(0, len(handle.getbuffer()) - handle.tell())
    inner = getattr(handle, "file", None)  # Django's uploaded files wrap a BytesIO or a temporary file
    if inner is not None and inner is not handle:
        return _bytes_left(inner)
    return 1 << 62


def _too_large(size: int | None, limit: int) -> RejectedFile:
    if size is None:
        return RejectedFile("file_too_large", f"the file is larger than the limit of {limit} bytes")
    return RejectedFile("file_too_large", f"the file has {size} bytes, over the limit of {limit}")
