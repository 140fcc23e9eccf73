"""Media in an S3-compatible bucket: a real SeaweedFS on loopback (tests/fakes/s3.py).

One server for the session; each test gets its own key prefix in the one bucket (a new
bucket costs SeaweedFS seven volumes). These run on the PostgreSQL + Redis leg only
(``make test``'s second pass): the storage code is the same on both legs, the server
takes seconds to start.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from tests.api_helpers import make_key
from tests.conftest import stored_files
from tests.factories import image_bytes, make_user, make_video, mp4_bytes
from tests.fake_upstream import sample_assets
from tests.fakes.s3 import S3Server
from videos_app import services
from videos_app.api.models import ApiFile
from videos_app.characters import services as character_services
from videos_app.jobs import attempt as attempts
from videos_app.jobs import dispatch
from videos_app.models import Video
from videos_app.providers.base import Assets, JobSpec, ProgressCallback, ProviderError
from videos_app.tasks import render_video

pytestmark = [pytest.mark.s3, pytest.mark.services_only, pytest.mark.django_db]


@dataclass
class Bucket:
    server: S3Server
    prefix: str

    def names(self) -> list[str]:
        """The stored names (keys less this test's prefix) in the bucket."""
        return [k.removeprefix(self.prefix + "/") for k in self.server.keys(self.prefix + "/")]


@pytest.fixture
def bucket(s3_server: S3Server, settings: Any, media_root: Path) -> Bucket:
    """Media in the bucket, under a prefix of this test's own."""
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": s3_server.bucket,
                "endpoint_url": s3_server.endpoint_url,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "access_key": s3_server.access_key,
                "secret_key": s3_server.secret_key,
                "file_overwrite": True,
                "default_acl": None,
                "querystring_expire": 300,
                "max_memory_size": 2 * 1024 * 1024,
                "location": prefix,
            },
        },
    }
    settings.STUDIO_MEDIA_PROXY = False
    settings.STUDIO_MEDIA_URL_EXPIRY = 300
    return Bucket(s3_server, prefix)


def create(capture: Any, **kwargs: Any) -> Video:
    """Create through the service, the job run inline on commit."""
    kwargs.setdefault("owner", make_user())
    kwargs.setdefault("prompt", "a calm ocean at sunset, slow drift")
    kwargs.setdefault("size", "720x1280")
    kwargs.setdefault("seconds", 4)
    with capture(execute=True):
        video = services.video_create(**kwargs)
    video.refresh_from_db()
    return video


def assets(video: Video) -> list[str]:
    return [f"videos/{video.pk}/{n}" for n in ("spritesheet.jpg", "thumbnail.webp", "video.mp4")]


def test_the_bucket_setting_switches_media_to_s3(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "STUDIO_DATA_DIR": str(tmp_path),
        "STUDIO_S3_BUCKET": "studio-media",
        "STUDIO_S3_ENDPOINT_URL": "https://objects.example.net",
        "STUDIO_S3_REGION": "eu-central-1",
        "STUDIO_MEDIA_URL_EXPIRY": "120",
    }
    code = (
        "import json; from studio import settings as s; print(json.dumps("
        "[s.STORAGES['default'], s.SECURE_CSP['media-src'][-1], s.SECURE_CSP['img-src'][-1]],"
        " default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    default, media_src, img_src = json.loads(out.stdout)
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "studio-media",
        "https://objects.example.net",
        "eu-central-1",
    )
    assert (options["addressing_style"], options["querystring_expire"]) == ("path", 120)
    assert "access_key" not in options and "secret_key" not in options  # boto3's own chain
    assert media_src == img_src == "https://objects.example.net"


@pytest.mark.usefixtures("sync_queue")
def test_a_job_stores_its_three_assets_in_the_bucket_and_none_on_disk(
    bucket: Bucket, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    video = create(django_capture_on_commit_callbacks)
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert bucket.names() == assets(video)
    assert video.video_file.name == f"videos/{video.pk}/video.mp4"
    assert default_storage.size(video.video_file.name) == video.file_size
    head = bucket.server.client().head_object(
        Bucket=bucket.server.bucket, Key=f"{bucket.prefix}/{video.video_file.name}"
    )
    assert head["ContentType"] == "video/mp4"
    assert stored_files(media_root) == []
    # Run again: the row is finished, nothing is stored twice.
    render_video(video.pk)
    assert bucket.names() == assets(video)


# --- Serving -------------------------------------------------------------------------------


def finished(owner: Any, data: bytes | None = None, **kwargs: Any) -> Video:
    """A completed video whose three files are in the bucket (no render)."""
    sample = sample_assets()
    video = make_video(owner, status=Video.Status.COMPLETED, size="720x1280", **kwargs)
    for field, variant, filename in (
        ("video_file", "video", "video.mp4"),
        ("thumbnail_file", "thumbnail", "thumbnail.webp"),
        ("spritesheet_file", "spritesheet", "spritesheet.jpg"),
    ):
        body = data if data is not None and variant == "video" else sample[variant]
        name = default_storage.save(f"videos/{video.pk}/{filename}", ContentFile(body))
        setattr(video, field, name)
    video.file_size = default_storage.size(video.video_file.name)
    video.save()
    return video


def fetch(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


def test_the_player_is_redirected_to_a_presigned_url_that_seeks_with_range(
    bucket: Bucket, client_in: Client, user: Any
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    video = finished(user, data)
    page = client_in.get(f"/videos/{video.pk}/media/video", HTTP_RANGE="bytes=1000-1999")
    assert page.status_code == 302
    assert page["Cache-Control"] == "private, no-store"
    url = page["Location"]
    assert url.startswith(bucket.server.endpoint_url + f"/{bucket.server.bucket}/{bucket.prefix}/")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    got = fetch(url, Range="bytes=1000-1999")
    assert got.status_code == 206
    assert got.content == data[1000:2000]
    assert got.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert got.headers["Content-Type"] == "video/mp4"
    assert fetch(url, Range="bytes=-10").content == data[-10:]
    assert fetch(url).content == data
    # The thumbnail and the spritesheet go the same way; a download names its file.
    for variant, kind in (("thumbnail", "image/webp"), ("spritesheet", "image/jpeg")):
        answer = fetch(client_in.get(f"/videos/{video.pk}/media/{variant}")["Location"])
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, kind)
    download = fetch(client_in.get(f"/videos/{video.pk}/media/video?download=1")["Location"])
    assert download.headers["Content-Disposition"] == f'attachment; filename="{video.pk}.mp4"'


def test_a_tampered_or_expired_presigned_url_is_refused(
    bucket: Bucket, client_in: Client, user: Any, settings: Any
) -> None:
    video, other = finished(user), finished(user)
    url = client_in.get(f"/videos/{video.pk}/media/video")["Location"]
    assert fetch(url).status_code == 200
    signature = url.split("X-Amz-Signature=")[1][:64]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert fetch(url.replace(signature, flipped)).status_code == 403
    # The same signature for another object (another video's file) is no key to it.
    assert fetch(url.replace(video.pk, other.pk)).status_code == 403
    assert fetch(url.replace("X-Amz-Expires=300", "X-Amz-Expires=9000")).status_code == 403
    settings.STUDIO_MEDIA_URL_EXPIRY = 1
    short = client_in.get(f"/videos/{video.pk}/media/video")["Location"]
    assert "X-Amz-Expires=1&" in short or short.endswith("X-Amz-Expires=1")
    time.sleep(2.5)
    assert fetch(short).status_code == 403


def test_no_url_is_signed_for_someone_who_may_not_see_the_video(bucket: Bucket, user: Any) -> None:
    video = finished(user, visibility=Video.Visibility.PRIVATE)
    stranger = Client()
    stranger.force_login(make_user("eve"))
    answer = stranger.get(f"/videos/{video.pk}/media/video")
    assert answer.status_code == 404 and "Location" not in answer
    assert Client().get(f"/videos/{video.pk}/media/video").status_code == 302  # to sign in
    assert "X-Amz" not in Client().get(f"/videos/{video.pk}/media/video")["Location"]


def test_an_object_gone_from_the_bucket_is_a_404_not_a_redirect(
    bucket: Bucket, client_in: Client, user: Any
) -> None:
    video = finished(user)
    default_storage.delete(video.video_file.name)
    assert client_in.get(f"/videos/{video.pk}/media/video").status_code == 404
    api = Client(**make_key(user).headers)
    assert api.get(f"/v1/videos/{video.pk}/content").status_code == 404


def test_with_the_proxy_setting_pages_get_the_bytes_through_the_studio(
    bucket: Bucket, client_in: Client, user: Any, settings: Any
) -> None:
    settings.STUDIO_MEDIA_PROXY = True
    data = b"0123456789" * 1000
    video = finished(user, data)
    answer = client_in.get(f"/videos/{video.pk}/media/video", HTTP_RANGE="bytes=10-29")
    assert answer.status_code == 206
    assert b"".join(answer.streaming_content) == data[10:30]
    assert answer["Content-Range"] == f"bytes 10-29/{len(data)}"


def test_v1_content_is_proxied_with_range_and_head_in_constant_memory(
    bucket: Bucket, user: Any
) -> None:
    data = os.urandom(24 * 1024 * 1024)
    video = finished(user, data)
    api = Client(**make_key(user).headers)
    part = api.get(f"/v1/videos/{video.pk}/content", HTTP_RANGE="bytes=5000000-5000099")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == data[5_000_000:5_000_100]
    assert part["Content-Range"] == f"bytes 5000000-5000099/{len(data)}"
    head = api.head(f"/v1/videos/{video.pk}/content")
    assert (head.status_code, head["Content-Length"], head.content) == (200, str(len(data)), b"")
    assert head["Last-Modified"]
    assert (
        api.get(f"/v1/videos/{video.pk}/content", HTTP_RANGE=f"bytes={len(data)}-").status_code
        == 416
    )
    thumbnail = api.get(f"/v1/videos/{video.pk}/content?variant=thumbnail")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    # The whole 24 MB passes through in 64 KB chunks: never more than a little is held.
    tracemalloc.start()
    try:
        whole = api.get(f"/v1/videos/{video.pk}/content")
        digest = hashlib.sha256()
        for chunk in whole.streaming_content:
            digest.update(chunk)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert peak < 1024 * 1024, peak  # about 0.2 MB measured


# --- Jobs with inputs, export, delete, failures ----------------------------------------------


def upload(name: str, data: bytes, content_type: str = "video/mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.usefixtures("sync_queue")
def test_an_edit_and_an_extension_of_uploads_render_from_the_bucket(
    bucket: Bucket, user: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    api = Client(**make_key(user).headers)
    clip = mp4_bytes(2.0, (1280, 720))
    with django_capture_on_commit_callbacks(execute=True):
        edit = api.post(
            "/v1/videos/edits",
            {"prompt": "make it snow, in black and white", "video": upload("a.mp4", clip)},
        )
        extension = api.post(
            "/v1/videos/extensions",
            {"prompt": "the camera pans on", "seconds": "4", "video": upload("b.mp4", clip)},
        )
    assert (edit.status_code, extension.status_code) == (200, 200), edit.content
    for made, seconds in ((edit, 2), (extension, 6)):
        video = Video.objects.get(pk=made.json()["id"])
        assert video.status == Video.Status.COMPLETED, video.error_message
        assert video.source_upload.name in bucket.names()
        assert set(assets(video)) <= set(bucket.names())
        content = api.get(f"/v1/videos/{video.pk}/content")
        with av.open(io.BytesIO(b"".join(content.streaming_content))) as container:
            assert abs(float(container.duration or 0) / 1_000_000 - seconds) < 0.3
    assert stored_files(media_root) == []


def test_the_export_streams_from_the_bucket_in_constant_memory(
    bucket: Bucket, client_in: Client, user: Any
) -> None:
    big = os.urandom(24 * 1024 * 1024)
    first, second = finished(user, big), finished(user, b"second" * 10)
    tracemalloc.start()
    try:
        answer = client_in.get(f"/export/?v={first.pk}&v={second.pk}")
        assert answer.status_code == 200
        with tempfile.TemporaryFile() as out:
            for chunk in answer.streaming_content:
                out.write(chunk)
            _now, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out.seek(0)
            with zipfile.ZipFile(out) as archive:
                assert archive.testzip() is None
                assert archive.read(f"videos/{first.pk}.mp4") == big
                assert archive.read(f"videos/{second.pk}.mp4") == b"second" * 10
    finally:
        tracemalloc.stop()
    # The export reads 1 MiB at a time: 2.2 MB measured for a 24 MB video.
    assert peak < 4 * 1024 * 1024, peak


@pytest.mark.usefixtures("sync_queue")
def test_deleting_a_video_deletes_every_object_it_had(
    bucket: Bucket, client_in: Client, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clip = upload("mo.mp4", mp4_bytes(2.0, (1280, 720)))
    mo = character_services.character_create(owner=user, name="Mo", clip=clip)
    kept = sorted([mo.clip.name, mo.poster.name])
    assert bucket.names() == kept
    poster = client_in.get(f"/characters/{mo.pk}/media/poster")
    assert fetch(poster["Location"]).headers["Content-Type"] == "image/png"
    png = image_bytes(720, 1280, color=(250, 20, 200))
    video = create(
        django_capture_on_commit_callbacks, owner=user, reference_png=png, characters=[mo]
    )  # the renderer reads the reference image and Mo's poster staged from the bucket
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert bucket.names() == sorted([video.reference_image.name, *assets(video), *kept])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_in.post(f"/videos/{video.pk}/delete")
    assert answer.status_code == 302
    assert bucket.names() == kept
    with django_capture_on_commit_callbacks(execute=True):
        character_services.character_delete(character=mo, actor=user)
    assert bucket.names() == []


def test_v1_files_are_kept_in_the_bucket_and_deleted_from_it(
    bucket: Bucket, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = Client(**make_key(user).headers)
    png = image_bytes(720, 1280)
    made = api.post("/v1/files", {"file": upload("f.png", png, "image/png"), "purpose": "vision"})
    assert made.status_code == 200, made.content
    row = ApiFile.objects.get(pk=made.json()["id"])
    assert bucket.names() == [row.content.name]
    assert default_storage.open(row.content.name).read() == png
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/v1/files/{row.pk}").status_code == 200
    assert bucket.names() == []


def test_a_failed_job_leaves_no_objects(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    class Failing:
        name = "local"

        def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
            (workdir / "partial.mp4").write_bytes(b"half a video")
            raise ProviderError("render_timeout", "Took too long.")

    monkeypatch.setattr(dispatch, "get_provider", lambda name: Failing())
    video = make_video(user)
    render_video(video.pk)
    video.refresh_from_db()
    assert (video.status, video.error_code) == (Video.Status.FAILED, "render_timeout")
    assert bucket.names() == []


def claimed_with_assets(user: Any, tmp_path: Path) -> tuple[Video, int, Assets]:
    """A video claimed by an attempt whose three finished files wait in ``tmp_path``."""
    sample = sample_assets()
    made = Assets.in_dir(tmp_path)
    for variant, path in made.by_variant().items():
        path.write_bytes(sample[variant])
    video = make_video(user)
    attempt = attempts.video_job_claim(video_id=video.pk)
    assert attempt is not None
    return video, attempt, made


def test_an_upload_that_breaks_off_leaves_no_asset_and_fails_the_job(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch, user: Any, tmp_path: Path
) -> None:
    video, attempt, made = claimed_with_assets(user, tmp_path)
    store = storages["default"]
    real_save = store._save

    stored: list[str] = []

    def save(name: str, content: Any) -> str:
        if name.endswith("spritesheet.jpg"):
            assert sorted(bucket.names()) == sorted(stored)  # two are in by now
            raise ConnectionError("the bucket went away")
        stored.append(str(real_save(name, content)))
        return stored[-1]

    monkeypatch.setattr(store, "_save", save)
    with pytest.raises(ConnectionError):
        attempts.complete(video, attempt, made)
    assert len(stored) == 2 and bucket.names() == []  # the video and thumbnail are gone
    video.refresh_from_db()
    assert video.status == Video.Status.IN_PROGRESS and not video.video_file  # the task fails it


def test_a_late_attempt_for_a_video_deleted_meanwhile_leaves_nothing(
    bucket: Bucket, user: Any, tmp_path: Path
) -> None:
    video, attempt, made = claimed_with_assets(user, tmp_path)
    Video.objects.filter(pk=video.pk).delete()  # deleted (or cancelled) while it rendered
    attempts.complete(video, attempt, made)
    assert bucket.names() == []


# --- manage.py media copy-to-s3 ----------------------------------------------------------------


def test_media_copy_to_s3_copies_verifies_and_is_safe_to_run_twice(
    bucket: Bucket, user: Any, tmp_path: Path
) -> None:
    old = tmp_path / "old-media"
    sample = sample_assets()
    video = make_video(user, status=Video.Status.COMPLETED)
    files = {
        f"videos/{video.pk}/video.mp4": sample["video"],
        f"videos/{video.pk}/thumbnail.webp": sample["thumbnail"],
        "uploads/big.mp4": os.urandom(20 * 1024 * 1024),  # past boto3's multipart threshold
        "kept_uploads/1-abc": b"an image",
    }
    for name, data in files.items():
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_bytes(data)
    Video.objects.filter(pk=video.pk).update(
        video_file=f"videos/{video.pk}/video.mp4", file_size=len(sample["video"])
    )

    def run() -> str:
        out = io.StringIO()
        call_command("media", "copy-to-s3", "--from", str(old), stdout=out)
        return out.getvalue()

    assert run().startswith(f"copied and verified 4 files ({sum(map(len, files.values()))} bytes);")
    assert bucket.names() == sorted(files)
    client, prefix = bucket.server.client(), bucket.prefix
    for name, data in files.items():
        got = client.get_object(Bucket=bucket.server.bucket, Key=f"{prefix}/{name}")
        assert got["Body"].read() == data
    big = client.head_object(Bucket=bucket.server.bucket, Key=f"{prefix}/uploads/big.mp4")
    assert "-" in big["ETag"]  # it went up in parts
    assert run().startswith("copied and verified 0 files (0 bytes); 4 already in the bucket")
    # An object put there by other means (no recorded checksum) is read back and hashed.
    thumb = f"videos/{video.pk}/thumbnail.webp"
    client.put_object(Bucket=bucket.server.bucket, Key=f"{prefix}/{thumb}", Body=files[thumb])
    assert run().startswith("copied and verified 0 files (0 bytes); 4 already in the bucket")
    # A file changed since (same size, other bytes) is copied again; the rest stay.
    (old / "kept_uploads/1-abc").write_bytes(b"AN IMAGE")
    assert run().startswith("copied and verified 1 files (8 bytes); 3 already")
    assert default_storage.open("kept_uploads/1-abc").read() == b"AN IMAGE"
    # The studio serves what was copied.
    content = Client(**make_key(user).headers).get(f"/v1/videos/{video.pk}/content")
    assert b"".join(content.streaming_content) == sample["video"]
    assert sorted(p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()) == sorted(
        files
    )  # the local files are left as they were


def test_media_copy_to_s3_refuses_without_a_bucket(settings: Any) -> None:
    with pytest.raises(CommandError, match="set STUDIO_S3_BUCKET"):
        call_command("media", "copy-to-s3", stdout=io.StringIO())
