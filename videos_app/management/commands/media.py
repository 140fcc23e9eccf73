"""``manage.py media copy-to-s3``: move an existing studio's media into its bucket.

    media copy-to-s3 [--from DIR] [--dry-run]

Run it with the S3 settings in place (``STUDIO_S3_BUCKET`` and the rest): it copies every
file under the local media folder (``STUDIO_DATA_DIR/media``, or ``--from``) to the same
name in the bucket, then reads each copy back and checks its size and SHA-256. A file the
bucket already holds with the same size and checksum (recorded in the object's metadata
by an earlier run) is left alone, so it is safe to run twice, or again after an
interrupted run. The local files are never changed or deleted.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio import storage

READ_SIZE = 1024 * 1024


@dataclass
class Tally:
    copied: int = 0
    present: int = 0
    copied_bytes: int = 0


class Command(BaseCommand):
    help = "Copy the local media folder into the S3 bucket, verifying every object."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="copy-to-s3")
        copy = sub.add_parser("copy-to-s3", help="Copy local media into the bucket.")
        copy.add_argument("--from", dest="source", help="The media folder (default: MEDIA_ROOT).")
        copy.add_argument("--dry-run", action="store_true", help="Say what would be copied.")

    def handle(self, *args: Any, **options: Any) -> None:
        store = storage.s3()
        if store is None:
            raise CommandError(
                "Media is not in a bucket: set STUDIO_S3_BUCKET (and STUDIO_S3_ENDPOINT_URL, "
                "STUDIO_S3_REGION and the AWS credentials as needed) for this command."
            )
        root = Path(options["source"] or settings.MEDIA_ROOT)
        if not root.is_dir():
            raise CommandError(f"No media folder at {root}.")
        self.verbose = options["verbosity"] > 1
        tally = Tally()
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            name = path.relative_to(root).as_posix()
            self._one(store, path, name, tally, dry_run=options["dry_run"])
        verb = "would copy" if options["dry_run"] else "copied and verified"
        self.stdout.write(
            f"{verb} {tally.copied} files ({tally.copied_bytes} bytes); "
            f"{tally.present} already in the bucket, unchanged."
        )

    def _one(self, store: Any, path: Path, name: str, tally: Tally, *, dry_run: bool) -> None:
        size, digest = path.stat().st_size, _sha256_file(path)
        key = storage.object_key(name)
        if _holds(store, key, size, digest):
            tally.present += 1
            return
        tally.copied += 1
        tally.copied_bytes += size
        if dry_run:
            self.stdout.write(f"would copy {name}")
            return
        extra: dict[str, Any] = {"Metadata": {"sha256": digest}}
        content_type = mimetypes.guess_type(name)[0]
        if content_type:
            extra["ContentType"] = content_type
        # boto3's managed upload: multipart past its threshold; the object appears whole.
        store.bucket.upload_file(str(path), key, ExtraArgs=extra)
        got_size, got_digest = _object_size_and_sha256(store, key)
        if (got_size, got_digest) != (size, digest):
            raise CommandError(
                f"{name}: the bucket's copy differs ({got_size} bytes, sha256 {got_digest}; "
                f"the file has {size} bytes, sha256 {digest}). Nothing was deleted; run again."
            )
        if self.verbose:
            self.stdout.write(f"copied {name}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(READ_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _holds(store: Any, key: str, size: int, digest: str) -> bool:
    """Whether the bucket has this very file at ``key``: same size, and the checksum an
    earlier run recorded (an object without one is read back and hashed)."""
    client = store.bucket.meta.client
    try:
        head = client.head_object(Bucket=store.bucket_name, Key=key)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    if int(head["ContentLength"]) != size:
        return False
    recorded = head.get("Metadata", {}).get("sha256")
    if recorded:
        return bool(recorded == digest)
    return _object_size_and_sha256(store, key) == (size, digest)


def _object_size_and_sha256(store: Any, key: str) -> tuple[int, str]:
    """The object's bytes, read back in full and hashed as they stream."""
    body = store.bucket.meta.client.get_object(Bucket=store.bucket_name, Key=key)["Body"]
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in body.iter_chunks(READ_SIZE):
            digest.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    return size, digest.hexdigest()
