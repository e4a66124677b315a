"""De-identification on import: PS3.15 Annex E Basic Application Level Confidentiality Profile.

What happens to a data set (in place), beyond the table in `deid_profile.py`:
- every private attribute is removed, and so are curve and overlay groups;
- every UID outside the DICOM root 1.2.840.10008 (instance UIDs, whatever their attribute) is
  replaced by `2.25.<128-bit keyed hash>`: the same original UID always maps to the same new one,
  across files and imports, without storing a mapping;
- every DA/DT value anywhere (listed or not) is shifted by a per-patient number of days derived
  from the keyed hash of the patient, so intervals between one patient's exams survive;
- every PN value not handled by the table is removed;
- Patient Name and Patient ID become one keyed pseudonym;
- what reading needs is untouched: laterality, view, pixel spacing, windows, VOI LUT, pixels.
The secret key (settings.DEID_SECRET) makes the hashes irreversible for anyone without it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from .deid_profile import BASIC_PROFILE, PSEUDONYM, REMOVED_GROUP_RANGES, SHIFT, D, U, X, Z

DICOM_ROOT = "1.2.840.10008."
PROFILE_TAGS = {tag_for_keyword(keyword): action for keyword, action in BASIC_PROFILE.items()}
# Identifiers the coordinator may keep in the mapping table (original value -> replacement).
MAPPED_KEYWORDS = ("PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID",
                   "SeriesInstanceUID", "SOPInstanceUID", "StudyDate", "PatientBirthDate")
METHOD = "PS3.15 E.1 Basic Profile; Modified Dates; keyed UIDs"  # LO: at most 64 characters
# PS3.16 CID 7050 codes for the profile and the option applied.
METHOD_CODES = (("113100", "Basic Application Confidentiality Profile"),
                ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))


@dataclass
class Deidentified:
    patient_pseudonym: str
    date_offset_days: int
    original: dict[str, str] = field(default_factory=dict)  # keyword -> original value
    replacement: dict[str, str] = field(default_factory=dict)  # keyword -> new value
    warnings: list[str] = field(default_factory=list)


class Deidentifier:
    def __init__(self, secret: str | bytes):
        self.secret = secret.encode() if isinstance(secret, str) else secret

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def remap_uid(self, uid: str) -> str:
        uid = str(uid).strip()
        if not uid or uid.startswith(DICOM_ROOT):
            return uid
        return "2.25." + str(int.from_bytes(self._digest("uid", uid)[:16], "big"))

    def pseudonym(self, value: str, prefix: str = "ANON") -> str:
        return f"{prefix}-{self._digest('id', str(value).strip()).hex()[:16].upper()}"

    def date_offset_days(self, patient_key: str) -> int:
        """A per-patient shift between -10 and -1 years (never zero, so no date survives)."""
        digest = self._digest("date", patient_key)
        return -(365 + int.from_bytes(digest[:4], "big") % (9 * 365))

    def deidentify(self, ds: Dataset) -> Deidentified:
        patient_key = _patient_key(ds)
        result = Deidentified(patient_pseudonym=self.pseudonym(patient_key, "PAT"),
                              date_offset_days=self.date_offset_days(patient_key))
        for keyword in MAPPED_KEYWORDS:
            value = ds.get(keyword)
            if value not in (None, ""):
                result.original[keyword] = str(value)
        if str(ds.get("BurnedInAnnotation", "") or "").upper() == "YES":
            result.warnings.append("Burned In Annotation is YES: identifying text may remain in the pixels")
        self._clean(ds, result)
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        ds.DeidentificationMethodCodeSequence = Sequence([_code(v, m) for v, m in METHOD_CODES])
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
        if getattr(ds, "file_meta", None) is not None:
            ds.file_meta = _clean_file_meta(ds)
        for keyword in MAPPED_KEYWORDS:
            if keyword in result.original:
                result.replacement[keyword] = str(ds.get(keyword, "") or "")
        return result

    def _clean(self, ds: Dataset, result: Deidentified) -> None:
        ds.remove_private_tags()
        for element in list(ds):
            tag = element.tag
            if any(low <= tag.group <= high for low, high in REMOVED_GROUP_RANGES):
                del ds[tag]
                continue
            action = PROFILE_TAGS.get(tag)
            if action == X:
                del ds[tag]
            elif action == Z:
                element.value = [] if element.VR == "SQ" else ""
            elif action == D:
                element.value = _dummy(element.VR)
            elif action == PSEUDONYM:
                element.value = result.patient_pseudonym
            elif action == SHIFT or element.VR in ("DA", "DT"):
                element.value = _shift(element.value, element.VR, result.date_offset_days)
            elif action == U or element.VR == "UI":
                element.value = _map_values(element.value, self.remap_uid)
            elif element.VR == "PN":
                del ds[tag]
            elif element.VR == "SQ":
                for item in element.value:
                    self._clean(item, result)


def _clean_file_meta(ds: Dataset) -> FileMetaDataset:
    """A fresh file meta group: the original may name the sending station (Source/Sending AE
    Title) or carry private information; only the class, instance and transfer syntax remain."""
    old = ds.file_meta
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID") or old.get("MediaStorageSOPClassUID")
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = old.TransferSyntaxUID
    return meta


def _patient_key(ds: Dataset) -> str:
    """What identifies the patient for pseudonyms and the date shift: ID, else name + birth date,
    else the study (each study then counts as its own patient)."""
    patient_id = str(ds.get("PatientID", "") or "").strip()
    if patient_id:
        return "id:" + patient_id
    name = str(ds.get("PatientName", "") or "").strip()
    if name:
        return f"name:{name}|{ds.get('PatientBirthDate', '')}"
    return "study:" + str(ds.get("StudyInstanceUID", ""))


def _map_values(value, function):
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (str, bytes))):
        return [function(v) for v in value]
    return function(value)


def _shift(value, vr: str, days: int):
    return _map_values(value, lambda v: _shift_one(str(v), vr, days))


def _shift_one(text: str, vr: str, days: int) -> str:
    text = text.strip()
    if len(text) < 8 or not text[:8].isdigit():
        return ""  # partial or malformed dates cannot be shifted safely: empty them
    try:
        date = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    shifted = (date + dt.timedelta(days=days)).strftime("%Y%m%d")
    return shifted if vr == "DA" else shifted + text[8:]


def _dummy(vr: str):
    return {"TM": "000000", "DA": "19000101", "DT": "19000101000000", "PN": "ANONYMOUS",
            "UI": "", "SQ": []}.get(vr, "ANONYMOUS" if vr in ("LO", "SH", "LT", "ST", "UT", "CS") else "")


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item
