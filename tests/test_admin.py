"""The admin: useful lists, read-only asset previews, deletes that take the files along."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from tests.conftest import stored_files
from tests.factories import make_team, make_user, make_video
from videos_app.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def completed(**kwargs: Any) -> Video:
    video = make_video(status=Video.Status.COMPLETED, progress=100, **kwargs)
    for field, name in (("video_file", "video.mp4"), ("thumbnail_file", "thumbnail.webp")):
        getattr(video, field).save(f"videos/{video.pk}/{name}", ContentFile(b"data"))
    return video


@pytest.mark.parametrize(
    "url",
    [
        "admin:videos_app_video_changelist",
        "admin:videos_app_character_changelist",
        "admin:videos_app_apikey_changelist",
        "admin:django_q_schedule_changelist",
        "admin:django_q_success_changelist",
        "admin:django_q_failure_changelist",
    ],
)
def test_the_admin_lists_load(admin_client: Client, url: str) -> None:
    completed(prompt="a prompt to search for")
    assert admin_client.get(reverse(url)).status_code == 200


def test_the_video_list_filters_and_searches(admin_client: Client) -> None:
    completed(prompt="lighthouse at dawn")
    make_video(prompt="desert road", status=Video.Status.FAILED)
    url = reverse("admin:videos_app_video_changelist")
    assert "lighthouse" in admin_client.get(url + "?q=lighthouse").content.decode()
    assert "desert road" not in admin_client.get(url + "?q=lighthouse").content.decode()
    assert "desert road" in admin_client.get(url + "?status__exact=failed").content.decode()


def test_the_video_page_previews_its_assets(admin_client: Client) -> None:
    video = completed()
    body = admin_client.get(
        reverse("admin:videos_app_video_change", args=[quote(video.pk)])
    ).content
    assert f"/videos/{video.pk}/media/video".encode() in body
    assert f"/videos/{video.pk}/media/thumbnail".encode() in body


def test_the_bulk_delete_takes_the_files_along_and_skips_running_jobs(
    admin_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    done = completed()
    running = make_video(status=Video.Status.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:videos_app_video_changelist"),
            {
                "action": "delete_with_assets",
                "_selected_action": [done.pk, running.pk],
                "apply": "1",  # the confirmation page's answer
            },
        )
    assert response.status_code == 302
    assert list(Video.objects.values_list("pk", flat=True)) == [running.pk]
    assert stored_files(media_root) == []


def test_deleting_one_video_in_the_admin_takes_its_files_along(
    admin_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    video = completed()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:videos_app_video_delete", args=[quote(video.pk)]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Video.objects.exists()
    assert stored_files(media_root) == []


def test_the_video_list_shows_thumbnails_and_names_the_no_team_choice(
    admin_client: Client,
) -> None:
    done = completed(prompt="lighthouse at dawn")
    make_video(prompt="still rendering", status=Video.Status.IN_PROGRESS, progress=40)
    make_video(prompt="the crew's", team=make_team())
    body = admin_client.get(reverse("admin:videos_app_video_changelist")).content.decode()
    assert f'<img src="/videos/{done.pk}/media/thumbnail"' in body
    assert "In progress 40%" in body
    assert f"{done.size} · {done.seconds} s" in body
    assert "(no team)" in body  # the team filter's choice for videos in no team
