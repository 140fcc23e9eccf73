"""Export videos as a zip that is streamed while it is written, in bounded memory.

``zipfile`` writes into a sink that only collects what it was handed since the last
chunk; the generator hands those bytes on and forgets them. MP4s are stored (they do
not compress) and read from storage in 1 MiB chunks, so no file is ever held whole.
The manifest lists every video, which would grow with the count, so its entries go to
a temporary file on disk as the videos stream by, and are copied into the zip last.

What remains per video is zipfile's central-directory record (a ``ZipInfo``, a few
hundred bytes), which the format needs at the very end; the export is capped at
``MAX_EXPORT_VIDEOS`` videos, which bounds it.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Video

MAX_EXPORT_VIDEOS = 5000
CHUNK_SIZE = 1024 * 1024
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class _Sink:
    """A write-only file object for zipfile: keeps what was written until drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        if data:
            self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def export_queryset(videos: Any) -> Any:
    """The columns and relations the manifest reads, oldest first (lineage reads down)."""
    return videos.select_related("owner", "team", "review_changed_by").order_by("created_at", "id")


def video_archive_name(video: Video) -> str:
    return f"videos/{video.pk}.mp4"


def manifest_entry(video: Video, *, file: str | None) -> dict[str, Any]:
    """What the manifest says about one video; ``file`` is its name in the zip, if any."""
    return {
        "id": video.pk,
        "status": video.status,
        "prompt": video.prompt,
        "model": video.model,
        "size": video.size,
        "seconds": video.seconds,
        "seed": video.seed,
        "operation": video.operation,
        "source_id": video.source_id,
        "remixed_from_video_id": video.remixed_from_video_id or None,
        "creator": video.owner.get_username(),
        "team": video.team.slug if video.team else None,
        "visibility": video.visibility,
        "review_state": video.review_state,
        "review_changed_by": (
            video.review_changed_by.get_username() if video.review_changed_by else None
        ),
        "review_changed_at": _iso(video.review_changed_at),
        "cost_estimate": str(video.cost_estimate) if video.cost_estimate is not None else None,
        "provider": video.provider,
        "provider_model": video.provider_model or None,
        "created_at": _iso(video.created_at),
        "completed_at": _iso(video.completed_at),
        "error_code": video.error_code or None,
        "file": file,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _zip_time(value: datetime | None) -> tuple[int, int, int, int, int, int]:
    local = (value or timezone.now()).astimezone(UTC)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def export_zip(
    videos: Iterable[Video], *, not_found: Iterable[str] = (), exported_by: str = ""
) -> Iterator[bytes]:
    """The zip's bytes, chunk by chunk: each finished video's MP4, then manifest.json.

    ``videos`` should be an iterator over a queryset (``.iterator(chunk_size=...)``) so
    the rows are not all loaded either; ``not_found`` lists requested ids that were
    unknown or not visible (they are named in the manifest, nothing more).
    """
    sink = _Sink()
    count = 0
    with (
        tempfile.TemporaryFile() as entries,
        zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
    ):
        # zipfile wraps a sink without tell() as unseekable and writes data descriptors.
        for video in videos:
            file = None
            if video.is_completed and video.video_file.name:
                added = yield from _add_file(archive, sink, video, video_archive_name(video))
                file = video_archive_name(video) if added else None
            if count:
                entries.write(b",\n")
            entries.write(json.dumps(manifest_entry(video, file=file), ensure_ascii=False).encode())
            count += 1
        header = {
            "version": MANIFEST_VERSION,
            "exported_at": timezone.now().isoformat(),
            "exported_by": exported_by,
            "count": count,
            "not_found": list(not_found),
        }
        # {"version": ..., "not_found": [...], "videos": [<the entries on disk>]}
        prefix = json.dumps(header, ensure_ascii=False).removesuffix("}")
        info = zipfile.ZipInfo(MANIFEST_NAME, date_time=_zip_time(None))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with archive.open(info, "w", force_zip64=True) as out:
            out.write(prefix.encode() + b', "videos": [\n')
            entries.seek(0)
            while chunk := entries.read(CHUNK_SIZE):
                out.write(chunk)
                yield sink.drain()
            out.write(b"\n]}\n")
    yield sink.drain()


def _add_file(
    archive: zipfile.ZipFile, sink: _Sink, video: Video, arcname: str
) -> Generator[bytes, None, bool]:
    """Copy the video's MP4 into the zip in chunks; False if it is gone from storage."""
    try:
        size = default_storage.size(video.video_file.name)
        source: IO[bytes] = default_storage.open(video.video_file.name, "rb")
    except OSError:
        return False  # the manifest still lists the video, without a file
    info = zipfile.ZipInfo(arcname, date_time=_zip_time(video.completed_at or video.created_at))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size
    info.external_attr = 0o644 << 16
    with source, archive.open(info, "w") as out:
        while chunk := source.read(CHUNK_SIZE):
            out.write(chunk)
            yield sink.drain()
    yield sink.drain()
    return True
