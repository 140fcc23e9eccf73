"""Compatibility with the official ``openai`` SDK (pinned 3.51.0) against a live studio.

pytest-django's ``live_server`` is a real threaded WSGI server on loopback; the SDK talks
to it over HTTP exactly as it talked to the retired upstream, with strict response
validation on, so a missing or mistyped key in any response fails the test.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import openai
import pytest
from django.contrib.auth.models import User
from openai import AsyncOpenAI, OpenAI
from openai.types import Video
from PIL import Image

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Key,
    completed_video,
    key_fixture,
    owner_fixture,
    sdk,
    sdk_client_fixture,
)
from tests.factories import image_bytes, make_team, make_user, make_video
from videos_app import selectors
from videos_app.api import views as api_views
from videos_app.models import Video as VideoRow

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Every videos method of the SDK is marked deprecated since the upstream shut down.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def png(width: int = 720, height: int = 1280) -> bytes:
    return image_bytes(width, height, "PNG")


class TestCreate:
    def test_it_creates_a_video_with_the_defaults(self, client: OpenAI, owner: User) -> None:
        video = client.videos.create(prompt="a paper boat on a rainy street")
        assert isinstance(video, Video)
        assert video.object == "video"
        assert video.status == "queued"
        assert (video.model, video.size, video.seconds) == ("sora-2", "720x1280", "4")
        assert video.error is None
        assert video._request_id and video._request_id.startswith("req_")
        assert VideoRow.objects.get(pk=video.id).owner == owner

    def test_it_creates_a_video_with_reference_bytes(self, client: OpenAI) -> None:
        # Bytes arrive as filename="upload", application/octet-stream.
        video = client.videos.create(
            prompt="p", size="1280x720", seconds="8", input_reference=png(1280, 720)
        )
        row = VideoRow.objects.get(pk=video.id)
        assert (row.size, row.seconds) == ("1280x720", 8)
        assert row.reference_image

    def test_it_creates_a_video_with_a_real_png_file(self, client: OpenAI, tmp_path: Path) -> None:
        path = tmp_path / "first-frame.png"
        path.write_bytes(png())
        with path.open("rb") as fh:
            video = client.videos.create(prompt="p", input_reference=fh)
        assert VideoRow.objects.get(pk=video.id).reference_image
        video = client.videos.create(prompt="p", input_reference=path)
        assert VideoRow.objects.get(pk=video.id).reference_image

    def test_a_file_id_works_through_extra_body(self, client: OpenAI) -> None:
        uploaded = client.files.create(file=("frame.png", png(), "image/png"), purpose="vision")
        assert uploaded.id.startswith("file-") and uploaded.bytes > 0
        # create(input_reference={"file_id": ...}) fails inside the SDK; extra_body is the way.
        video = client.videos.create(
            prompt="p", extra_body={"input_reference": {"file_id": uploaded.id}}
        )
        assert VideoRow.objects.get(pk=video.id).reference_image
        assert client.files.retrieve(uploaded.id).filename == "frame.png"
        assert client.files.delete(uploaded.id).deleted is True

    def test_the_json_encoding_works_through_client_post(self, client: OpenAI) -> None:
        uploaded = client.files.create(file=("frame.png", png(), "image/png"), purpose="vision")
        video = client.post(
            "/videos",
            body={
                "prompt": "p",
                "seconds": "12",
                "input_reference": {"file_id": uploaded.id},
            },
            cast_to=Video,
        )
        assert video.seconds == "12"
        assert VideoRow.objects.get(pk=video.id).reference_image


class TestReadAndDelete:
    def test_it_retrieves_a_video(self, client: OpenAI, owner: User) -> None:
        row = make_video(owner)
        response = client.videos.with_raw_response.retrieve(row.pk)
        assert response.headers["x-request-id"].startswith("req_")
        assert int(response.headers["openai-poll-after-ms"]) >= 500
        video = response.parse()
        assert video.id == row.pk and video.status == "queued"

    @pytest.mark.parametrize("order", ["desc", "asc"])
    def test_it_auto_paginates_over_several_pages_in_either_order(
        self, client: OpenAI, owner: User, order: Any
    ) -> None:
        ids = [make_video(owner).pk for _ in range(7)]
        expected = [v.pk for v in VideoRow.objects.order_by("-created_at", "-id")]
        if order == "asc":
            expected.reverse()
        first_page = client.videos.list(limit=3, order=order)
        assert len(first_page.data) == 3 and first_page.has_more
        seen = [video.id for video in first_page]  # follows after=last_id to the end
        assert seen == expected
        assert sorted(seen) == sorted(ids)

    def test_it_downloads_each_variant(self, client: OpenAI, owner: User) -> None:
        row = completed_video(owner)
        video = client.videos.download_content(row.pk)
        assert video.content.startswith(b"\x00\x00\x00\x18ftyp")
        assert video.response.headers["content-type"] == "video/mp4"
        assert int(video.response.headers["content-length"]) == len(video.content)
        thumbnail = client.videos.download_content(row.pk, variant="thumbnail")
        assert thumbnail.content.startswith(b"RIFF")
        spritesheet = client.videos.download_content(row.pk, variant="spritesheet")
        assert spritesheet.content.startswith(b"\xff\xd8\xff")

    def test_it_deletes_a_finished_video(self, client: OpenAI, owner: User) -> None:
        row = completed_video(owner)
        deleted = client.videos.delete(row.pk)
        assert (deleted.id, deleted.object, deleted.deleted) == (row.pk, "video.deleted", True)
        assert not VideoRow.objects.filter(pk=row.pk).exists()

    @pytest.mark.parametrize("order", ["desc", "asc"])
    def test_listing_and_deleting_as_it_goes_deletes_them_all(
        self, client: OpenAI, owner: User, order: Any
    ) -> None:
        """The SDK's auto-pagination asks for the next page after the last id it saw,
        which the loop has just deleted."""
        for _ in range(7):
            completed_video(owner)
        deleted = [client.videos.delete(v.id).id for v in client.videos.list(limit=3, order=order)]
        assert len(deleted) == 7 and not VideoRow.objects.exists()

    def test_it_gets_a_character(self, client: OpenAI, owner: User) -> None:
        from django.core.files.base import ContentFile

        from videos_app.models import Character

        character = Character(owner=owner, name="Mo")
        character.clip.save("clip.mp4", ContentFile(b"x"), save=False)
        character.save()
        got = client.videos.get_character(character.pk)
        assert (got.id, got.name) == (character.pk, "Mo")


class TestPolling:
    def test_create_and_poll_follows_the_poll_hint_until_completed(
        self, client: OpenAI, owner: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A stand-in for the worker: each retrieve moves the job one step on."""
        steps = iter([VideoRow.Status.IN_PROGRESS, VideoRow.Status.COMPLETED])
        polls: list[str] = []
        real_get = selectors.video_get

        def advancing_get(*, user: Any, video_id: str) -> VideoRow:
            polls.append(video_id)
            status = next(steps, VideoRow.Status.COMPLETED)
            VideoRow.objects.filter(pk=video_id).update(status=status, progress=50)
            return real_get(user=user, video_id=video_id)

        monkeypatch.setattr(api_views.selectors, "video_get", advancing_get)
        monkeypatch.setattr(api_views, "poll_after_ms", lambda video: 20)
        video = client.videos.create_and_poll(prompt="p")
        assert video.status == "completed"
        assert len(polls) == 2


class TestErrors:
    def test_a_bad_value_raises_bad_request_with_param_and_code(self, client: OpenAI) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create(prompt="p", size="1080x1080")  # type: ignore[arg-type]
        assert caught.value.status_code == 400
        assert caught.value.param == "size"
        assert caught.value.code == "invalid_value"
        assert "Supported values are: '720x1280'" in caught.value.message
        assert caught.value.request_id and caught.value.request_id.startswith("req_")

    def test_content_before_completion_is_a_bad_request_not_a_conflict(
        self, client: OpenAI, owner: User
    ) -> None:
        row = make_video(owner)
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.download_content(row.pk)
        assert caught.value.code == "video_not_ready"

    def test_a_bad_key_raises_authentication_error(self, live_server: Any, key: Key) -> None:
        with (
            sdk(live_server, key.raw[:-4] + "zzzz") as client,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            client.videos.list()
        assert caught.value.code == "invalid_api_key"

    def test_someone_elses_video_raises_permission_denied(
        self, client: OpenAI, owner: User
    ) -> None:
        creator = make_user()
        row = completed_video(creator, team=make_team(members={creator: "admin", owner: "viewer"}))
        with pytest.raises(openai.PermissionDeniedError):
            client.videos.delete(row.pk)

    def test_an_unknown_video_raises_not_found(self, client: OpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            client.videos.retrieve("video_nope")
        with pytest.raises(openai.NotFoundError):
            client.videos.get_character("char_nope")

    def test_the_rate_limit_raises_rate_limit_error_with_retry_after(
        self, client: OpenAI, settings: Any
    ) -> None:
        settings.STUDIO_API_RATE_LIMIT = 2
        client.videos.list()
        client.videos.list()
        with pytest.raises(openai.RateLimitError) as caught:
            client.videos.list()
        assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
        assert caught.value.code == "rate_limit_exceeded"


class TestAsyncClient:
    def test_the_async_client_creates_lists_and_retrieves(self, live_server: Any, key: Key) -> None:
        async def scenario() -> None:
            async with AsyncOpenAI(
                base_url=live_server.url + "/v1",
                api_key=key.raw,
                max_retries=0,
                _strict_response_validation=True,
            ) as client:
                created = await client.videos.create(prompt="p", input_reference=png())
                listed = [video.id async for video in client.videos.list(limit=1)]
                assert created.id in listed
                got = await client.videos.retrieve(created.id)
                assert got.id == created.id
                with pytest.raises(openai.NotFoundError):
                    await client.videos.retrieve("video_nope")

        asyncio.run(scenario())


class TestRealRender:
    """End to end with the local renderer, run inline (Conf.SYNC) inside the request."""

    @pytest.fixture(autouse=True)
    def renderer(self, sync_queue: None) -> None:
        pytest.importorskip("videos_app.providers.local", reason="the local renderer")

    def test_create_and_poll_then_download_every_variant(self, client: OpenAI) -> None:
        video = client.videos.create_and_poll(
            prompt="a lighthouse at dusk", size="1280x720", seconds="4"
        )
        assert video.status == "completed", video.error
        assert video.progress == 100 and video.completed_at is not None
        mp4 = client.videos.download_content(video.id).content
        assert mp4[4:8] == b"ftyp"
        thumbnail = client.videos.download_content(video.id, variant="thumbnail").content
        assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"
        spritesheet = client.videos.download_content(video.id, variant="spritesheet").content
        assert Image.open(io.BytesIO(spritesheet)).format == "JPEG"
        assert client.videos.delete(video.id).deleted is True

    def test_a_reference_image_renders(self, client: OpenAI) -> None:
        video = client.videos.create_and_poll(prompt="p", input_reference=png())
        assert video.status == "completed", video.error
