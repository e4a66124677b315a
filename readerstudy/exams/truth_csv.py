"""Ground-truth CSV parsing (no Django here): `exam_id,side,malignant,benign[,source]`.

All problems are collected with their line numbers, so the coordinator fixes the file in one go;
the caller imports nothing unless the error list is empty.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

REQUIRED = ("exam_id", "side", "malignant", "benign")
SIDES = {"l": "L", "left": "L", "r": "R", "right": "R"}
FLAGS = {"0": False, "1": True, "false": False, "true": True, "no": False, "yes": True}


@dataclass(frozen=True)
class TruthRow:
    line: int
    exam_id: str
    side: str  # L or R
    malignant: bool
    benign: bool
    source: str = ""


@dataclass(frozen=True)
class TruthError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_truth_csv(text: str, exam_exists: Callable[[str], bool] | None = None
                    ) -> tuple[list[TruthRow], list[TruthError]]:
    """Rows (one per breast, duplicates that agree merged) and the errors; `exam_exists` checks
    each exam id once when given."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    errors: list[TruthError] = []
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        return [], [TruthError(1, "the file is empty")]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        return [], [TruthError(1, f"missing column(s) {', '.join(missing)}; expected "
                                  "exam_id,side,malignant,benign[,source]")]
    index = {column: header.index(column) for column in header}
    rows: dict[tuple[str, str], TruthRow] = {}
    known: dict[str, bool] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            errors.append(TruthError(line, f"{len(cells)} cells, expected {len(header)}"))
            continue
        def get(column, cells=cells):
            return cells[index[column]].strip() if column in index else ""

        exam_id, side_text = get("exam_id"), get("side")
        problems = []
        if not exam_id:
            problems.append("exam_id is empty")
        elif exam_exists is not None:
            if exam_id not in known:
                known[exam_id] = exam_exists(exam_id)
            if not known[exam_id]:
                problems.append(f"unknown exam {exam_id!r}")
        side = SIDES.get(side_text.lower())
        if side is None:
            problems.append(f"side {side_text!r} is not L or R")
        flags = {}
        for column in ("malignant", "benign"):
            value = FLAGS.get(get(column).lower())
            if value is None:
                problems.append(f"{column} {get(column)!r} is not 0 or 1")
            flags[column] = value
        if problems:
            errors.extend(TruthError(line, problem) for problem in problems)
            continue
        row = TruthRow(line, exam_id, side, flags["malignant"], flags["benign"], get("source"))
        previous = rows.get((exam_id, side))
        if previous is None:
            rows[(exam_id, side)] = row
        elif (previous.malignant, previous.benign, previous.source) != (row.malignant, row.benign, row.source):
            errors.append(TruthError(line, f"conflicts with line {previous.line} for exam {exam_id!r} side {side}"))
    if not rows and not errors:
        errors.append(TruthError(1, "the file has no data rows"))
    return list(rows.values()), errors
