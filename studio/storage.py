"""Media storage, local or in an S3-compatible bucket, behind Django's storage API.

Everything the studio keeps goes through ``default_storage`` (``STORAGES["default"]``):
the local folder by default, ``storages.backends.s3.S3Storage`` when ``STUDIO_S3_BUCKET``
is set. This module is what the storage API does not say: where an engine reads an input
(``stage``), reading a byte range or a whole object as a stream in constant memory
(``read_range``, ``open_stream``; django-storages' S3File downloads a whole object
before its first byte), a short-lived presigned URL for the browser (``presigned_url``),
and deleting files (``delete``, which also prunes the folders a local store leaves empty).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


def s3() -> Any:
    """The media store when it is an S3Storage, else None."""
    store = storages["default"]  # the instance default_storage stands for (made on first use)
    if "storages.backends.s3" not in sys.modules:  # not imported by it: not a bucket
        return None
    from storages.backends.s3 import S3Storage

    return store if isinstance(store, S3Storage) else None


def _key(store: Any, name: str) -> str:
    """The object key of a stored name (the store's location prefix included)."""
    from storages.utils import clean_name

    return str(store._normalize_name(clean_name(name)))


def object_key(name: str) -> str:
    """The bucket's key for a stored name (with the store's ``location`` prefix)."""
    store = s3()
    return name if store is None else _key(store, name)


def local_path(name: str, storage: Storage | None = None) -> Path | None:
    """Where a local store keeps ``name``; None for a store without local files."""
    storage = default_storage if storage is None else storage
    try:
        return Path(storage.path(name))
    except NotImplementedError:
        return None


def stage(name: str | None, workdir: Path) -> Path:
    """A local file with the stored file's bytes, for an engine to read.

    A local store's own file is used as it is; a bucket's object is downloaded into
    ``workdir`` (the job's working folder, removed with it)."""
    if not name:
        raise FileNotFoundError("no stored file")
    path = local_path(name)
    if path is not None:
        return path
    inputs = workdir / "inputs"
    inputs.mkdir(exist_ok=True)
    dest = inputs / posixpath.basename(name)
    stem, n = dest.stem, 1
    while dest.exists():  # two inputs of one name (a clip and a poster.png of two characters)
        dest = dest.with_name(f"{stem}-{n}{dest.suffix}")
        n += 1
    store = s3()
    try:
        if store is not None:
            # boto3's managed download: ranged parts in parallel for a big object.
            store.bucket.download_file(_key(store, name), str(dest))
        else:
            with default_storage.open(name, "rb") as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, CHUNK_SIZE)
    except Exception as exc:
        if _missing(exc):
            raise FileNotFoundError(name) from exc
        raise
    return dest


def stage_if_present(name: str | None, workdir: Path) -> Path | None:
    """``stage``, or None when there is no such stored file (or no name)."""
    if not name:
        return None
    try:
        path = stage(name, workdir)
    except FileNotFoundError:
        return None
    return path if path.exists() else None


def _missing(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)  # botocore's ClientError
    code = str((response or {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def stat(name: str) -> tuple[int, datetime | None]:
    """A stored file's size and when it was last written (one HEAD for a bucket);
    FileNotFoundError when it is gone."""
    store = s3()
    if store is None:
        size = default_storage.size(name)
        try:
            return size, default_storage.get_modified_time(name)
        except (NotImplementedError, OSError):
            return size, None
    try:
        head = store.bucket.meta.client.head_object(Bucket=store.bucket_name, Key=_key(store, name))
    except Exception as exc:
        if _missing(exc):
            raise FileNotFoundError(name) from exc
        raise
    return int(head["ContentLength"]), head.get("LastModified")


def read_range(name: str, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of a stored file from ``start``, in chunks, in constant memory.

    From a bucket this is one ranged GET streamed as it arrives (the object's own Range
    support), so seeking in a long video does not download what comes before."""
    if length <= 0:
        return iter(())
    store = s3()
    if store is not None:
        try:
            body = store.bucket.meta.client.get_object(
                Bucket=store.bucket_name,
                Key=_key(store, name),
                Range=f"bytes={start}-{start + length - 1}",
            )["Body"]
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(name) from exc
            raise
        return _body_chunks(body)
    return _file_chunks(default_storage.open(name, "rb"), start, length)


def _body_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()


def _file_chunks(fh: IO[bytes], start: int, length: int) -> Iterator[bytes]:
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


def open_stream(name: str) -> IO[bytes]:
    """A stored file open for reading from its start, streamed (FileNotFoundError when
    it is gone)."""
    store = s3()
    if store is None:
        return default_storage.open(name, "rb")
    try:
        body = store.bucket.meta.client.get_object(Bucket=store.bucket_name, Key=_key(store, name))[
            "Body"
        ]
    except Exception as exc:
        if _missing(exc):
            raise FileNotFoundError(name) from exc
        raise
    return body


def presigned_url(name: str, *, content_type: str, download_name: str | None = None) -> str:
    """A URL the browser may GET (and seek in) for ``settings.STUDIO_MEDIA_URL_EXPIRY``
    seconds; "" where media is not in a bucket or is proxied (``STUDIO_MEDIA_PROXY``).

    Only ever handed out after the studio's own permission check."""
    store = s3()
    if store is None or settings.STUDIO_MEDIA_PROXY:
        return ""
    from django.utils.http import content_disposition_header

    parameters = {"ResponseContentType": content_type, "ResponseCacheControl": "private"}
    if download_name:
        parameters["ResponseContentDisposition"] = str(
            content_disposition_header(True, download_name)
        )
    return str(store.url(name, parameters=parameters, expire=settings.STUDIO_MEDIA_URL_EXPIRY))


def delete(names: Iterable[str]) -> None:
    """Delete stored files (a failure is logged), and the folders they leave empty in a
    local store: a bucket has no folders to leave behind."""
    folders = set()
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("could not delete %s", name)
        folders.add(posixpath.dirname(name))
    if not isinstance(storages["default"], FileSystemStorage):
        return
    for folder in folders:
        path = local_path(folder)
        # Not empty or already gone: leave it.
        with contextlib.suppress(OSError):
            if path is not None and folder:
                os.rmdir(path)


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)
