"""Serving stored media with HTTP Range support, in constant memory.

Django's FileResponse has no Range support, and a <video> element needs it to seek
(Safari refuses to play at all without it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import re
from collections.abc import Iterator
from typing import IO

from django.core.files.storage import default_storage
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, http_date

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
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
    size = default_storage.size(name)
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
        fh = default_storage.open(name, "rb")
        response = StreamingHttpResponse(
            _read_range(fh, start, length), status=status, content_type=content_type
        )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    with contextlib.suppress(NotImplementedError, OSError):
        response["Last-Modified"] = http_date(default_storage.get_modified_time(name).timestamp())
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


def _read_range(fh: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


def storage_delete(names: list[str]) -> None:
    """Delete stored files, and the folders they leave empty on a local filesystem."""
    folders = set()
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("could not delete %s", name)
        folders.add(posixpath.dirname(name))
    for folder in folders:
        # Not empty, already gone, or not a local filesystem: leave it.
        with contextlib.suppress(NotImplementedError, OSError):
            os.rmdir(default_storage.path(folder))
