"""Download a selection of videos, or a filtered gallery, as one streamed zip.

``GET /export/?v=<id>&v=<id>`` exports those videos (the gallery's selection form also
sends ``selection=1``, so an empty selection is an error, not "everything"); without
``v`` the query string is read as gallery filters (the gallery's "Export all" link) and
every video the gallery would list is exported. Ids the user cannot see are treated exactly like
unknown ids: left out, and named under ``not_found`` in the manifest (unknown and
invisible look the same, so nothing leaks). If none of the ids is visible: 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import GalleryFilterForm
from ..models import Video
from . import archive

ITERATOR_CHUNK = 100  # rows per fetch: what the export holds of the table at a time


@login_required
@require_GET
def video_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    ids = list(dict.fromkeys(v for v in request.GET.getlist("v") if v))
    not_found: list[str] = []
    if ids:
        if len(ids) > archive.MAX_EXPORT_VIDEOS:
            return _too_many(request, len(ids))
        videos = selectors.videos_visible_to(request.user).filter(pk__in=ids)
        found = set(videos.values_list("pk", flat=True))
        if not found:
            raise Http404("No such videos.")
        not_found = [video_id for video_id in ids if video_id not in found]
    elif request.GET.get("selection"):
        # The gallery's "Download zip" with nothing ticked: not the same as "Export all".
        return render(
            request,
            "videos/export_error.html",
            {"errors": ["Select at least one video to download, or use “Export all”."]},
            status=400,
        )
    else:
        videos, errors = _filtered_gallery(request)
        if errors:
            return render(request, "videos/export_error.html", {"errors": errors}, status=400)
        count = videos.count()
        if count > archive.MAX_EXPORT_VIDEOS:
            return _too_many(request, count)
        if not count:
            return render(
                request,
                "videos/export_error.html",
                {"errors": ["No videos match these filters: there is nothing to export."]},
                status=404,
            )
    rows = archive.export_queryset(videos).iterator(chunk_size=ITERATOR_CHUNK)
    response = StreamingHttpResponse(
        archive.export_zip(rows, not_found=not_found, exported_by=request.user.get_username()),
        content_type="application/zip",
    )
    name = f"studio-export-{timezone.now():%Y-%m-%d}.zip"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response


def _filtered_gallery(request: HttpRequest) -> tuple[QuerySet[Video], list[str]]:
    """The videos the gallery lists for these filters, or the filters' errors."""
    form = GalleryFilterForm(request.GET)
    if not form.is_valid():
        return Video.objects.none(), [
            f"{form.fields[field].label or field}: {error}" if field in form.fields else str(error)
            for field, errors in form.errors.items()
            for error in errors
        ]
    return selectors.video_gallery(user=request.user, filters=form.cleaned_data), []


def _too_many(request: HttpRequest, count: int) -> HttpResponse:
    message = (
        f"That is {count:,} videos; one export holds at most {archive.MAX_EXPORT_VIDEOS:,}. "
        "Narrow the filters (a date range, a creator) and export in parts."
    )
    return render(request, "videos/export_error.html", {"errors": [message]}, status=400)
