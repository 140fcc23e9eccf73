"""Remix, edits, extensions and characters through the official SDK against a live studio.

Each test starts from the SDK's own seed example for the method, run as written apart
from ``base_url`` and the key. Only creates and remixes are rendered (inline, with
``Conf.SYNC``); for edits and extensions the tests check the Video the API answers at
creation, and leave how they render to the renderer's own tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from django.contrib.auth.models import User
from openai import OpenAI
from openai.types import Video

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Key,
    completed_video,
    key_fixture,
    mp4_bytes,
    owner_fixture,
    sdk,
    sdk_client_fixture,
)
from tests.factories import make_video
from videos_app.models import Character
from videos_app.models import Video as VideoRow
from videos_app.providers import catalog

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Every videos method of the SDK is marked deprecated since the upstream shut down.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

# What the SDK's generated examples pass as a video: not a video at all.
PLACEHOLDER = b"Example data"


def wide_mp4() -> bytes:
    """A real 2 s H.264 MP4 of a size the SDK's ``Video.size`` allows (1280x720)."""
    return mp4_bytes(2.0, size=(1280, 720), fps=12)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(wide_mp4())
    return path


def assert_not_a_video(caught: pytest.ExceptionInfo[openai.BadRequestError]) -> None:
    assert caught.value.status_code == 400
    assert caught.value.param == "video"
    assert "not an MP4 video that can be decoded" in caught.value.message


def assert_queued(video: Video, *, seconds: str, size: str) -> VideoRow:
    assert isinstance(video, Video)
    assert video.id.startswith("video_") and video.object == "video"
    assert (video.status, video.progress, video.error) == ("queued", 0, None)
    assert (video.seconds, video.size) == (seconds, size)
    return VideoRow.objects.get(pk=video.id)


class TestRemix:
    @pytest.fixture(autouse=True)
    def renderer(self, sync_queue: None) -> None:
        pytest.importorskip("videos_app.providers.local", reason="the local renderer")

    def test_the_seed_example_remixes_a_completed_video(self, client: OpenAI) -> None:
        source = client.videos.create_and_poll(
            prompt="a lighthouse at dusk", size="1280x720", seconds="4"
        )
        assert source.status == "completed", source.error
        video = client.videos.remix(video_id=source.id, prompt="a lighthouse at night")
        row = assert_queued(video, seconds="4", size="1280x720")
        assert video.remixed_from_video_id == source.id
        assert (video.prompt, video.model) == ("a lighthouse at night", source.model)
        assert (row.operation, row.source_id) == ("remix", source.id)
        finished = client.videos.poll(video.id)
        assert finished.status == "completed", finished.error
        assert finished.remixed_from_video_id == source.id
        assert client.videos.download_content(video.id).content[4:8] == b"ftyp"

    @pytest.mark.parametrize("status", [VideoRow.Status.QUEUED, VideoRow.Status.IN_PROGRESS])
    def test_a_source_that_is_not_completed_is_a_bad_request_never_a_conflict(
        self, client: OpenAI, owner: User, status: str
    ) -> None:
        source = make_video(owner, status=status)
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.remix(video_id=source.pk, prompt="p")
        assert caught.value.code == "video_not_completed"
        assert VideoRow.objects.count() == 1

    def test_a_failed_source_says_it_has_failed(self, client: OpenAI, owner: User) -> None:
        source = make_video(owner, status=VideoRow.Status.FAILED)
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.remix(video_id=source.pk, prompt="p")
        assert f"Video {source.pk} has failed; only a completed video" in caught.value.message

    def test_an_unknown_source_is_not_found(self, client: OpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            client.videos.remix(video_id="video_nope", prompt="p")


class TestEdit:
    def test_the_seed_example_with_placeholder_bytes_is_a_bad_request(self, client: OpenAI) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.edit(prompt="x", video=PLACEHOLDER)
        assert_not_a_video(caught)
        assert not VideoRow.objects.exists()

    def test_a_real_clip_as_bytes_a_file_or_a_path_makes_a_queued_edit(
        self, client: OpenAI, owner: User, clip: Path
    ) -> None:
        with clip.open("rb") as fh:
            uploads: list[Any] = [clip.read_bytes(), fh, clip]
            for upload in uploads:
                video = client.videos.edit(prompt="make it snow, in black and white", video=upload)
                # Same length and size as the upload; the default model.
                row = assert_queued(video, seconds="2", size="1280x720")
                assert (video.model, video.remixed_from_video_id) == ("sora-2", None)
                assert (row.owner, row.operation, row.source_id) == (owner, "edit", None)
                assert row.source_upload

    def test_an_upload_may_name_its_model(self, client: OpenAI) -> None:
        video = client.videos.edit(
            prompt="mirror", video=wide_mp4(), extra_body={"model": "sora-2-pro"}
        )
        assert video.model == "sora-2-pro"

    def test_a_video_id_works_through_extra_body_and_as_json(
        self, client: OpenAI, owner: User
    ) -> None:
        source = completed_video(owner, size="1280x720", seconds=8, model="sora-2-pro")
        # Multipart with the bracket key video[id]; the SDK insists on `video`, so omit it.
        video = client.videos.edit(
            prompt="mirror",
            video=openai.omit,  # type: ignore[arg-type]
            extra_body={"video": {"id": source.pk}},
        )
        row = assert_queued(video, seconds="8", size="1280x720")
        assert video.model == "sora-2-pro"
        assert row.source == source
        video = client.post(
            "/videos/edits", body={"prompt": "mirror", "video": {"id": source.pk}}, cast_to=Video
        )
        assert VideoRow.objects.get(pk=video.id).source == source

    def test_an_unknown_or_unfinished_source_id_is_refused(
        self, client: OpenAI, owner: User
    ) -> None:
        body = {"prompt": "p", "video": {"id": "video_nope"}}
        with pytest.raises(openai.NotFoundError) as not_found:
            client.post("/videos/edits", body=body, cast_to=Video)
        assert not_found.value.param == "video"
        running = make_video(owner, status=VideoRow.Status.IN_PROGRESS)
        body["video"] = {"id": running.pk}
        with pytest.raises(openai.BadRequestError) as caught:
            client.post("/videos/edits", body=body, cast_to=Video)
        assert (caught.value.param, caught.value.code) == ("video", "video_not_completed")


class TestExtend:
    def test_the_seed_example_with_placeholder_bytes_is_a_bad_request(self, client: OpenAI) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.extend(prompt="x", seconds="4", video=PLACEHOLDER)
        assert_not_a_video(caught)
        assert not VideoRow.objects.exists()

    def test_a_real_clip_is_extended_and_seconds_is_the_total(
        self, client: OpenAI, clip: Path
    ) -> None:
        with clip.open("rb") as fh:
            video = client.videos.extend(prompt="the camera pans on", seconds="4", video=fh)
        row = assert_queued(video, seconds="6", size="1280x720")
        assert (row.operation, row.segment_seconds, row.chain_extensions) == ("extend", 4, 1)
        assert row.source_upload

    def test_a_video_id_works_through_extra_body_and_as_json(
        self, client: OpenAI, owner: User
    ) -> None:
        source = completed_video(owner, size="1280x720", seconds=8, chain_extensions=2)
        video = client.videos.extend(
            prompt="p",
            seconds="4",
            video=openai.omit,  # type: ignore[arg-type]
            extra_body={"video": {"id": source.pk}},
        )
        row = assert_queued(video, seconds="12", size="1280x720")
        assert (row.source, row.chain_extensions) == (source, 3)
        video = client.post(
            "/videos/extensions",
            body={"prompt": "p", "seconds": "4", "video": {"id": source.pk}},
            cast_to=Video,
        )
        assert video.seconds == "12"

    def test_a_chain_allows_six_extensions(self, client: OpenAI, owner: User) -> None:
        last = completed_video(owner, seconds=28, chain_extensions=catalog.MAX_EXTENSIONS - 1)
        video = self.extend_by_id(client, last.pk)
        assert VideoRow.objects.get(pk=video.id).chain_extensions == catalog.MAX_EXTENSIONS
        full = completed_video(owner, seconds=32, chain_extensions=catalog.MAX_EXTENSIONS)
        with pytest.raises(openai.BadRequestError) as caught:
            self.extend_by_id(client, full.pk)
        assert (caught.value.param, caught.value.code) == ("video", "extension_limit")
        assert "at most 6 extensions" in caught.value.message

    def test_a_chain_lasts_at_most_120_seconds(self, client: OpenAI, owner: User) -> None:
        video = self.extend_by_id(client, completed_video(owner, seconds=116).pk)
        assert video.seconds == "120"
        with pytest.raises(openai.BadRequestError) as caught:
            self.extend_by_id(client, completed_video(owner, seconds=118).pk)
        assert (caught.value.param, caught.value.code) == ("seconds", "extension_limit")
        assert "makes 122 s; a chain may last at most 120 s" in caught.value.message

    def test_an_unknown_source_or_segment_length_is_refused(
        self, client: OpenAI, owner: User
    ) -> None:
        with pytest.raises(openai.NotFoundError):
            self.extend_by_id(client, "video_nope")
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.extend(prompt="p", seconds="5", video=mp4_bytes())  # type: ignore[arg-type]
        assert (caught.value.param, caught.value.code) == ("seconds", "invalid_value")

    @staticmethod
    def extend_by_id(client: OpenAI, video_id: str) -> Video:
        return client.videos.extend(
            prompt="p",
            seconds="4",
            video=openai.omit,  # type: ignore[arg-type]
            extra_body={"video": {"id": video_id}},
        )


@pytest.mark.parametrize("method", ["edit", "extend"])
def test_an_upload_of_another_size_never_answers_a_size_the_sdk_refuses(
    client: OpenAI, method: str
) -> None:
    extra = {"seconds": "4"} if method == "extend" else {}
    try:
        video = getattr(client.videos, method)(prompt="mirror", video=mp4_bytes(), **extra)
    except openai.BadRequestError as exc:  # refusing it is as good as resizing it
        assert exc.param == "video"
    else:
        assert video.size in catalog.SIZES


class TestVideoIdInsideTheSdk:
    def test_edit_and_extend_with_a_video_id_fail_in_the_sdk_before_sending(
        self, live_server: Any, key: Key
    ) -> None:
        """The SDK's own quirk (callers use extra_body or client.post): nothing is sent."""
        sent: list[httpx2.Request] = []
        http_client = httpx2.Client(event_hooks={"request": [sent.append]})
        with sdk(live_server, key.raw, http_client=http_client) as client:
            with pytest.raises(RuntimeError, match="Expected entry at `video` to be bytes"):
                client.videos.edit(prompt="p", video={"id": "video_x"})
            with pytest.raises(RuntimeError, match="Expected entry at `video` to be bytes"):
                client.videos.extend(prompt="p", seconds="4", video={"id": "video_x"})
            assert sent == []
            client.videos.list()  # the same client does reach the server
        assert len(sent) == 1


class TestCharacters:
    def test_the_seed_example_with_placeholder_bytes_is_a_bad_request(self, client: OpenAI) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create_character(name="x", video=PLACEHOLDER)
        assert_not_a_video(caught)
        assert not Character.objects.exists()

    def test_a_real_clip_makes_a_character_that_get_character_returns(
        self, client: OpenAI, owner: User, clip: Path
    ) -> None:
        character = client.videos.create_character(name="Mo", video=clip)
        assert character.id is not None and character.id.startswith("char_")
        assert character.name == "Mo" and isinstance(character.created_at, int)
        assert character.model_dump() == {
            "id": character.id,
            "name": "Mo",
            "created_at": character.created_at,
        }
        got = client.videos.get_character(character.id)
        assert got.model_dump() == character.model_dump()
        row = Character.objects.get(pk=character.id)
        assert (row.owner, row.width, row.height) == (owner, 1280, 720)
        assert row.clip and row.poster

    @pytest.mark.parametrize(
        ("seconds", "code"),
        [(catalog.MAX_CHARACTER_SECONDS + 1, "too_long"), (0.5, "too_short")],
    )
    def test_a_clip_too_long_or_too_short_is_a_bad_request(
        self, client: OpenAI, seconds: float, code: str
    ) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create_character(
                name="Mo", video=mp4_bytes(seconds, size=(64, 48), fps=8)
            )
        assert (caught.value.param, caught.value.code) == ("video", code)
        assert not Character.objects.exists()

    def test_create_takes_characters_by_id_as_bracket_keys_and_as_json(
        self, client: OpenAI
    ) -> None:
        mo, ada = (client.videos.create_character(name=n, video=mp4_bytes()) for n in ("Mo", "Ada"))
        # Multipart: characters[][id], once per character.
        video = client.videos.create(
            prompt="two friends on a pier",
            extra_body={"characters": [{"id": mo.id}, {"id": ada.id}]},
        )
        row = VideoRow.objects.get(pk=video.id)
        assert {c.pk for c in row.characters.all()} == {mo.id, ada.id}
        video = client.post(
            "/videos", body={"prompt": "p", "characters": [{"id": mo.id}]}, cast_to=Video
        )
        assert [c.pk for c in VideoRow.objects.get(pk=video.id).characters.all()] == [mo.id]

    def test_a_third_character_or_an_unknown_one_is_a_bad_request(self, client: OpenAI) -> None:
        mo, ada, lu = (
            client.videos.create_character(name=n, video=mp4_bytes()) for n in ("Mo", "Ada", "Lu")
        )
        cases = [
            # Three by id, or two by id and a third named in the prompt.
            ("p", [mo, ada, lu], "array_above_max_length"),
            ("Lu waves", [mo, ada], "too_many_characters"),
        ]
        for prompt, characters, code in cases:
            with pytest.raises(openai.BadRequestError) as caught:
                client.videos.create(
                    prompt=prompt, extra_body={"characters": [{"id": c.id} for c in characters]}
                )
            assert (caught.value.param, caught.value.code) == ("characters", code)
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create(prompt="p", extra_body={"characters": [{"id": "char_nope"}]})
        assert (caught.value.param, caught.value.code) == ("characters", "unknown_character")
        assert not VideoRow.objects.exists()

    def test_an_unknown_character_is_not_found(self, client: OpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            client.videos.get_character("char_nope")
