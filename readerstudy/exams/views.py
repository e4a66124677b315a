"""Coordinator pages (exam upload, truth upload) and the pixel endpoints the viewer loads."""
from __future__ import annotations

import zlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, TooManyFilesSent
from django.http import FileResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from .ingest import ingest_uploads
from .models import Image, TruthVersion
from .pixels import image_header_payload
from .truth import import_truth_report

CACHE_SECONDS = 24 * 3600  # derivatives never change for a given image; private: per user
MAX_TRUTH_BYTES = 10 * 1024 * 1024
MAX_TRUTH_REASON = 2000
TRUTH_VERSIONS_SHOWN = 100


# The access policy answers through Django's permission API (readerstudy.access.policy.PolicyBackend),
# so this app asks it without importing anything above it.
def _require(request, action: str, obj=None, message: str = "Permission denied.") -> None:
    if not request.user.has_perm(action, obj):
        raise PermissionDenied(message)


def _keep_map_default() -> bool:
    return getattr(settings, "INGEST_KEEP_IDENTIFIER_MAP", True)


def keep_identifier_map_choice(data) -> bool:
    """The form sends `identifier_choice` with an optional checkbox; other clients may send
    keep_identifier_map=true/false; without either the setting decides."""
    value = data.get("keep_identifier_map")
    if value is None:
        return False if "identifier_choice" in data else _keep_map_default()
    return str(value).lower() in ("on", "true", "1", "yes")


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_http_methods(["GET", "POST"])
def upload(request):
    """Many files or a .zip; the page uploads with a progress bar and shows one result per file."""
    _require(request, "exam.import", message="Only study creators import exams.")
    if request.method == "GET":
        return render(request, "exams/upload.html", {"keep_identifier_map": _keep_map_default()})
    try:
        files = request.FILES.getlist("files")
    except TooManyFilesSent:
        files, error = [], (f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per upload: "
                            "put them in a .zip archive instead.")
    else:
        error = "Choose at least one file (DICOM, 16-bit PNG with an exam list, or a .zip)."
    if not files:
        if _wants_json(request):
            return JsonResponse({"error": error}, status=400)
        return render(request, "exams/upload.html", {"error": error, "keep_identifier_map": _keep_map_default()},
                      status=400)
    keep_map = keep_identifier_map_choice(request.POST)
    report = ingest_uploads(files, user=request.user, request=request, keep_identifier_map=keep_map)
    if _wants_json(request):
        return JsonResponse(report.as_dict())
    return render(request, "exams/upload.html", {"report": report, "keep_identifier_map": keep_map})


def _truth_page(request, status=200, **context):
    """The upload form and the history of the ground truth (newest version first)."""
    context["versions"] = TruthVersion.objects.select_related("created_by")[:TRUTH_VERSIONS_SHOWN]
    context.setdefault("reason", "")
    return render(request, "exams/truth_upload.html", context, status=status)


@require_http_methods(["GET", "POST"])
def truth_upload(request):
    _require(request, "truth.import", message="Only study creators import ground truth.")
    if request.method == "GET":
        return _truth_page(request)
    upload = request.FILES.get("file")
    reason = request.POST.get("reason", "").strip()
    errors, stored, result = [], 0, None
    if upload is None:
        errors = ["Choose a CSV file: exam_id,side,malignant,benign[,source]."]
    elif upload.size > MAX_TRUTH_BYTES:
        errors = [f"The file has {upload.size} bytes; the limit is {MAX_TRUTH_BYTES}."]
    elif len(reason) > MAX_TRUTH_REASON:
        errors = [f"The reason has {len(reason)} characters; the limit is {MAX_TRUTH_REASON}."]
    else:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = ["The file is not UTF-8 text."]
        else:
            result = import_truth_report(text, user=request.user, request=request, reason=reason,
                                         source=upload.name or "")
            stored = result.stored
            errors = [str(problem) for problem in result.errors]
    status = 400 if errors else 200
    if _wants_json(request):
        return JsonResponse({"stored": stored, "errors": errors}, status=status)
    return _truth_page(request, status=status, errors=errors, stored=stored, result=None if errors else result,
                       reason=reason if errors else "")


def _visible_image(request, pk: int) -> Image:
    image = get_object_or_404(Image.objects.select_related("exam"), pk=pk)
    _require(request, "exam.view", image.exam, message="You may not see this exam.")
    return image


def _cached(request, response, etag: str):
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


def _not_modified(request, etag: str):
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return _cached(request, HttpResponseNotModified(), etag)
    return None


def _etag(image: Image, kind: str) -> str:
    """Changes whenever what is served changes: a file's name carries its own token and format."""
    version = {"pixels": image.pixels_file.name, "preview": image.preview_file.name}.get(kind, image.checksum)
    return f'"{image.pk}-{kind}-{zlib.crc32(str(version).encode()):08x}"'


@require_GET
def image_pixels(request, pk: int):
    """The exact stored values as byte planes (exams/derivatives.py), gzip-compressed on disk and
    sent as is with Content-Encoding: gzip."""
    image = _visible_image(request, pk)
    etag = _etag(image, "pixels")
    if (response := _not_modified(request, etag)) is not None:
        return response
    response = FileResponse(image.pixels_file.open("rb"), content_type="application/octet-stream")
    response["Content-Encoding"] = "gzip"
    return _cached(request, response, etag)


@require_GET
def image_header(request, pk: int):
    image = _visible_image(request, pk)
    etag = _etag(image, "header")
    if (response := _not_modified(request, etag)) is not None:
        return response
    return _cached(request, JsonResponse(image_header_payload(image)), etag)


@require_GET
def image_preview(request, pk: int):
    image = _visible_image(request, pk)
    etag = _etag(image, "preview")
    if (response := _not_modified(request, etag)) is not None:
        return response
    return _cached(request, FileResponse(image.preview_file.open("rb"), content_type="image/png"), etag)
