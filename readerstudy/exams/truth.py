"""Ground-truth import, versioned: the CSV is checked in full first, then stored in one transaction
or not at all.

Every import that changes something makes one `TruthVersion` (numbered 1, 2, 3, ...) and one
`BreastTruthRevision` per breast whose value (malignant, benign, source) is new or differs from
the current one, holding the old and the new value; `BreastTruth` keeps the current value and
points at the version that last set it. Breasts the file does not name keep their truth; breasts
it names with their current value get no revision; an import that changes nothing makes no
version. Each import is audited ("exams.truth_import") with the version number and the old and
new value of each changed breast.

An analysis names the truth version it used: `latest_truth_version_number()` when it runs, and
`truth_as_of(number)` gives the truth it saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from readerstudy import audit, clock

from .ingest import find_exam
from .models import BreastTruth, BreastTruthRevision, TruthVersion
from .truth_csv import TruthError, parse_truth_csv

AUDIT_MAX_CHANGES = 200  # breasts listed with old and new values in one audit event


@dataclass
class TruthImport:
    """What one import did. `stored`: breasts in the file, now current (changed or confirmed);
    `version`: the new TruthVersion, None when nothing changed or on errors."""

    stored: int = 0
    errors: list[TruthError] = field(default_factory=list)
    version: TruthVersion | None = None
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def revised(self) -> int:
        return self.added + self.changed


def _value(malignant, benign, source) -> dict:
    return {"malignant": malignant, "benign": benign, "source": source}


def _one_row_per_breast(rows, exams) -> tuple[list, list[TruthError]]:
    """Two ids of one exam (its label and its original accession number) name the same breast:
    rows that agree are merged, rows that disagree are an error."""
    kept, errors = {}, []
    for row in rows:
        key = (exams[row.exam_id].pk, row.side)
        earlier = kept.get(key)
        if earlier is None:
            kept[key] = row
        elif (earlier.malignant, earlier.benign, earlier.source) != (row.malignant, row.benign, row.source):
            errors.append(TruthError(row.line, f"conflicts with line {earlier.line}: {row.exam_id!r} and "
                                               f"{earlier.exam_id!r} are the same exam, side {row.side}"))
    return list(kept.values()), errors


def import_truth(text: str, *, user=None, request=None, reason: str = "", source: str = ""
                 ) -> tuple[int, list[TruthError]]:
    """(number of breasts stored, errors); nothing is stored when there is any error. See
    `import_truth_report` for the version it made."""
    result = import_truth_report(text, user=user, request=request, reason=reason, source=source)
    return result.stored, result.errors


def import_truth_report(text: str, *, user=None, request=None, reason: str = "", source: str = "") -> TruthImport:
    """Check the CSV, then in one transaction: a new TruthVersion with a revision per new or
    changed breast, the current values updated, and the audit event. `source` names the file."""
    exams = {}

    def exam_exists(exam_id: str) -> bool:
        exams[exam_id] = find_exam(exam_id)
        return exams[exam_id] is not None

    rows, errors = parse_truth_csv(text, exam_exists)
    if errors:
        return TruthImport(errors=errors)
    rows, errors = _one_row_per_breast(rows, exams)
    if errors:
        return TruthImport(errors=errors)
    reason, source = reason.strip(), source.strip()[:255]
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    result = TruthImport(stored=len(rows))
    with transaction.atomic():
        current = {
            (truth.exam_id, truth.side): truth
            for truth in BreastTruth.objects.select_for_update().filter(
                exam_id__in={exam.pk for exam in exams.values()})}
        pending = []  # (row, exam, current BreastTruth or None)
        for row in sorted(rows, key=lambda r: (exams[r.exam_id].label, r.side)):
            exam = exams[row.exam_id]
            old = current.get((exam.pk, row.side))
            new_value = (row.malignant, row.benign, row.source[:128])
            if old is not None and (old.malignant, old.benign, old.source) == new_value:
                result.unchanged += 1
                continue
            pending.append((row, exam, old))
            if old is None:
                result.added += 1
            else:
                result.changed += 1
        changes = []
        if pending:
            number = (TruthVersion.objects.aggregate(last=Max("number"))["last"] or 0) + 1
            version = TruthVersion.objects.create(
                number=number, created_at=clock.now(), created_by=actor,
                created_by_username=actor.get_username() if actor else "", source=source, reason=reason,
                breasts_added=result.added, breasts_changed=result.changed, breasts_unchanged=result.unchanged)
            result.version = version
            revisions = []
            for row, exam, old in pending:
                new_source = row.source[:128]
                revisions.append(BreastTruthRevision(
                    version=version, exam=exam, side=row.side, malignant=row.malignant, benign=row.benign,
                    source=new_source,
                    previous_malignant=old.malignant if old else None, previous_benign=old.benign if old else None,
                    previous_source=old.source if old else None))
                if old is None:
                    BreastTruth.objects.create(exam=exam, side=row.side, malignant=row.malignant, benign=row.benign,
                                               source=new_source, version=version)
                else:
                    old.malignant, old.benign, old.source, old.version = row.malignant, row.benign, new_source, version
                    old.save(update_fields=["malignant", "benign", "source", "version"])
                revision = revisions[-1]
                changes.append({
                    "exam": exam.label, "exam_id": exam.pk, "side": row.side,
                    "old": None if old is None else _value(
                        revision.previous_malignant, revision.previous_benign, revision.previous_source),
                    "new": _value(row.malignant, row.benign, new_source)})
            BreastTruthRevision.objects.bulk_create(revisions)
        audit.record(
            user, "exams.truth_import", result.version, request=request,
            version=result.version.number if result.version else None,
            breasts=len(rows), exams=len({exams[row.exam_id].pk for row in rows}),
            added=result.added, changed=result.changed, unchanged=result.unchanged,
            reason=reason, source=source,
            changes=changes[:AUDIT_MAX_CHANGES], changes_omitted=max(0, len(changes) - AUDIT_MAX_CHANGES))
    return result


def latest_truth_version_number() -> int | None:
    """The number of the newest truth version, None before the first import."""
    return TruthVersion.objects.aggregate(last=Max("number"))["last"]


def current_truth_version() -> TruthVersion | None:
    """The newest truth version, None before the first import."""
    return TruthVersion.objects.order_by("-number").first()


def truth_as_of(version_number: int) -> dict[tuple[int, str], bool]:
    """{(exam pk, side): malignant} as versions 1..version_number left it: for each breast, the
    value of its latest revision up to that version. Only truth stored through versions is seen
    (the import, and version 1 made from the truth stored before versioning). Raises
    TruthVersion.DoesNotExist for an unknown number."""
    if not TruthVersion.objects.filter(number=version_number).exists():
        raise TruthVersion.DoesNotExist(f"there is no ground-truth version {version_number}")
    truth: dict[tuple[int, str], bool] = {}
    revisions = (BreastTruthRevision.objects.filter(version__number__lte=version_number)
                 .order_by("version__number").values_list("exam_id", "side", "malignant"))
    for exam_id, side, malignant in revisions:
        truth[(exam_id, side)] = malignant
    return truth
