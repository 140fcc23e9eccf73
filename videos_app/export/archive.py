"""Export videos as a zip that is streamed while it is written, in constant memory: the
videos' MP4s and the manifest that describes them.

The zip is written front to back by ``zipstream.ZipStream`` (which keeps its central
directory on disk, not in memory); MP4s are stored (they do not compress) and read from
storage in 1 MiB chunks, so no file is ever held whole. The manifest lists every video,
which would grow with the count, so its entries go to a temporary file as the videos
stream by, and are copied into the zip last (deflated). Rows come from a queryset
iterator. Nothing held in memory depends on the number of videos.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone

from studio import storage

from ..models import Video
from .zipstream import ZipStream

MAX_EXPORT_VIDEOS = 5000
CHUNK_SIZE = 1024 * 1024
# Small: a read of up to this much of the spooled manifest would otherwise be a buffer
# as large as the manifest (up to CHUNK_SIZE), i.e. one that grows with the count.
MANIFEST_CHUNK_SIZE = 64 * 1024
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


# Plain columns, not model instances: an instance whose file field was read sits in a
# reference cycle (it and its FieldFile), so it outlives its loop turn until the cyclic
# garbage collector runs, and the export's memory would grow with the count.
EXPORT_FIELDS = (
    "id", "status", "prompt", "model", "size", "seconds", "seed", "operation", "source_id",
    "remixed_from_video_id", "owner__username", "team__slug", "visibility", "review_state",
    "review_changed_by__username", "review_changed_at", "cost_estimate", "provider",
    "provider_model", "created_at", "completed_at", "error_code", "video_file",
)  # fmt: skip


def export_queryset(videos: QuerySet[Video]) -> QuerySet[Video, dict[str, Any]]:
    """The columns the manifest reads, oldest first (so lineage reads downwards)."""
    return videos.order_by("created_at", "id").values(*EXPORT_FIELDS)


def video_archive_name(video_id: str) -> str:
    return f"videos/{video_id}.mp4"


def manifest_entry(row: dict[str, Any], *, file: str | None) -> dict[str, Any]:
    """What the manifest says about one video; ``file`` is its name in the zip, if any."""
    cost = row["cost_estimate"]
    return {
        "id": row["id"],
        "status": row["status"],
        "prompt": row["prompt"],
        "model": row["model"],
        "size": row["size"],
        "seconds": row["seconds"],
        "seed": row["seed"],
        "operation": row["operation"],
        "source_id": row["source_id"],
        "remixed_from_video_id": row["remixed_from_video_id"] or None,
        "creator": row["owner__username"],
        "team": row["team__slug"],
        "visibility": row["visibility"],
        "review_state": row["review_state"],
        "review_changed_by": row["review_changed_by__username"],
        "review_changed_at": _iso(row["review_changed_at"]),
        "cost_estimate": str(cost) if cost is not None else None,
        "provider": row["provider"],
        "provider_model": row["provider_model"] or None,
        "created_at": _iso(row["created_at"]),
        "completed_at": _iso(row["completed_at"]),
        "error_code": row["error_code"] or None,
        "file": file,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_zip(
    rows: Iterable[dict[str, Any]], *, not_found: Iterable[str] = (), exported_by: str = ""
) -> Iterator[bytes]:
    """The zip's bytes, chunk by chunk: each finished video's MP4, then manifest.json.

    ``rows`` should iterate over ``export_queryset(...)`` with ``.iterator(chunk_size=...)``
    so the rows are not all loaded either; ``not_found`` lists requested ids that were
    unknown or not visible (they are named in the manifest, nothing more).
    """
    count = 0
    with tempfile.TemporaryFile() as entries, ZipStream() as archive:
        for row in rows:
            file = None
            opened = _open_video_file(row)
            if opened is not None:
                source, size = opened
                file = video_archive_name(row["id"])
                with source:
                    yield from archive.entry(
                        file,
                        _chunks(source),
                        when=row["completed_at"] or row["created_at"],
                        size=size,
                    )
            if count:
                entries.write(b",\n")
            entries.write(json.dumps(manifest_entry(row, file=file), ensure_ascii=False).encode())
            count += 1
        header = {
            "version": MANIFEST_VERSION,
            "exported_at": timezone.now().isoformat(),
            "exported_by": exported_by,
            "count": count,
            "not_found": list(not_found),
        }
        yield from archive.entry(
            MANIFEST_NAME, _manifest_chunks(header, entries), when=timezone.now(), deflate=True
        )
        yield from archive.finish()


def _open_video_file(row: dict[str, Any]) -> tuple[IO[bytes], int] | None:
    """The finished video's MP4, open, and its size; None if it has none or it is gone
    from storage (the manifest still lists the video, without a file)."""
    if row["status"] != Video.Status.COMPLETED or not row["video_file"]:
        return None
    try:
        size, _modified = storage.stat(row["video_file"])
        # Streamed as it is read (a bucket's object too): constant memory.
        return storage.open_stream(row["video_file"]), size
    except OSError:
        return None


def _chunks(source: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := source.read(size):
        yield chunk


def _manifest_chunks(header: dict[str, Any], entries: IO[bytes]) -> Iterator[bytes]:
    """{"version": ..., "not_found": [...], "videos": [<the entries spooled to disk>]}"""
    yield json.dumps(header, ensure_ascii=False).removesuffix("}").encode() + b', "videos": [\n'
    entries.seek(0)
    yield from _chunks(entries, MANIFEST_CHUNK_SIZE)
    yield b"\n]}\n"
