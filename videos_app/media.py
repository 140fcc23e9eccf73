"""Serving stored media with HTTP Range support, in constant memory.

Django's FileResponse has no Range support, and a <video> element needs it to seek
(Safari refuses to play at all without it). Media in a bucket is, for pages, a redirect
to a short-lived presigned URL once the view has checked permissions (the bucket does
the seeking), or proxied like a local file (``STUDIO_MEDIA_PROXY``, and ``/v1`` always).
"""

from __future__ import annotations

import logging
import re

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, http_date

from studio import storage

logger = logging.getLogger(__name__)

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stored_file_or_404(
    request: HttpRequest,
    name: str,
    *,
    content_type: str,
    download_name: str | None = None,
) -> HttpResponseBase:
    """``stored_file_response`` for pages: a file gone from storage is a 404, logged.

    The row says the file exists; if storage lost it (removed by hand, a restore that
    missed it), the user gets a clear "not found" and the operator a log line naming it.
    """
    try:
        url = storage.presigned_url(name, content_type=content_type, download_name=download_name)
        if url:
            storage.stat(name)  # a file gone from the bucket is a 404 here, not there
            redirect = HttpResponseRedirect(url)
            # Never cached: the URL expires, the next request gets a fresh one.
            redirect["Cache-Control"] = "private, no-store"
            return redirect
        return stored_file_response(
            request, name, content_type=content_type, download_name=download_name
        )
    except FileNotFoundError:
        logger.error("a stored file is missing from media storage: %s", name)
        raise Http404("This file is missing from the studio's storage.") from None


def stored_file_response(
    request: HttpRequest,
    name: str,
    *,
    content_type: str,
    download_name: str | None = None,
) -> HttpResponseBase:
    """Answer GET/HEAD for a stored file: 200 whole, 206 one byte range, 416 unsatisfiable."""
    size, modified = storage.stat(name)
    start, end = 0, size - 1
    status = 200
    header = request.headers.get("Range", "")
    if header and size > 0:
        try:
            parsed = _parse_range(header, size)
        except RangeNotSatisfiable:
            unsatisfiable = HttpResponse(status=416)
            unsatisfiable["Content-Range"] = f"bytes */{size}"
            return unsatisfiable
        if parsed is not None:
            start, end = parsed
            status = 206
    length = end - start + 1 if size else 0
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        response = StreamingHttpResponse(
            storage.read_range(name, start, length), status=status, content_type=content_type
        )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    if modified is not None:
        response["Last-Modified"] = http_date(modified.timestamp())
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if download_name:
        response["Content-Disposition"] = content_disposition_header(True, download_name)
    return response


class RangeNotSatisfiable(Exception):
    """A valid byte range that lies wholly outside the file (answered 416)."""


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One range of ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``; None for a header to
    ignore (RFC 9110: another unit, or not a valid range), which gets the whole file;
    RangeNotSatisfiable for a range outside the file.

    A multi-range request gets its first range (browsers never send more than one).
    """
    first = header.split(",")[0].strip()
    match = RANGE_RE.match(first)
    if not match or match.groups() == ("", ""):
        return None
    first_s, last_s = match.groups()
    if first_s == "":
        suffix = int(last_s)
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - suffix), size - 1
    start = int(first_s)
    if last_s and int(last_s) < start:
        return None  # not a valid range
    if start >= size:
        raise RangeNotSatisfiable(header)
    end = int(last_s) if last_s else size - 1
    return start, min(end, size - 1)


def storage_delete(names: list[str]) -> None:
    """Delete stored files, and the folders they leave empty on a local filesystem."""
    storage.delete(names)
