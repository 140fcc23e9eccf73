"""Remix, extend, edit and characters: the rules, in the services and on the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import stored_files
from tests.factories import make_team, make_user, make_video, mp4_bytes
from videos_app import services
from videos_app.characters import services as character_services
from videos_app.models import Character, Video

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "upload") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def completed(owner: Any = None, **kwargs: Any) -> Video:
    video = make_video(owner, status=Video.Status.COMPLETED, progress=100, **kwargs)
    video.video_file.save(f"videos/{video.pk}/video.mp4", ContentFile(mp4_bytes(1)))
    return video


class TestRemix:
    def test_it_keeps_the_scene_and_takes_the_new_prompt(self, user: Any) -> None:
        source = completed(user, size="1280x720", seconds=8, seed=1234)
        remix = services.video_remix(owner=user, source=source, prompt="same, but at night")
        assert remix.operation == "remix" and remix.source == source
        assert remix.remixed_from_video_id == source.pk
        assert (remix.size, remix.seconds, remix.seed, remix.model) == (
            "1280x720",
            8,
            1234,
            source.model,
        )
        assert remix.prompt == "same, but at night" and remix.status == "queued"

    def test_it_refuses_a_source_that_is_not_completed(self, user: Any) -> None:
        source = make_video(user, status=Video.Status.IN_PROGRESS)
        with pytest.raises(ValidationError) as exc:
            services.video_remix(owner=user, source=source, prompt="x")
        assert exc.value.error_dict["__all__"][0].code == "video_not_completed"
        assert Video.objects.count() == 1


class TestExtend:
    def test_it_adds_the_segment_to_the_total_and_counts_the_chain(self, user: Any) -> None:
        source = completed(user, seconds=8)
        extended = services.video_extend(owner=user, source=source, prompt="on", segment_seconds=12)
        assert (extended.seconds, extended.segment_seconds, extended.chain_extensions) == (
            20,
            12,
            1,
        )
        assert extended.seed == source.seed and extended.size == source.size

    def test_a_chain_allows_six_extensions(self, user: Any) -> None:
        video = completed(user, seconds=4)
        for _ in range(6):
            video = services.video_extend(owner=user, source=video, prompt="on", segment_seconds=4)
            Video.objects.filter(pk=video.pk).update(status=Video.Status.COMPLETED)
            video.refresh_from_db()
        assert (video.seconds, video.chain_extensions) == (28, 6)
        assert services.extension_budget(video) == (0, 92)
        with pytest.raises(ValidationError) as exc:
            services.video_extend(owner=user, source=video, prompt="on", segment_seconds=4)
        assert exc.value.error_dict["video"][0].code == "extension_limit"
        assert "at most 6 extensions" in exc.value.error_dict["video"][0].message

    def test_a_chain_lasts_at_most_120_seconds(self, user: Any) -> None:
        source = completed(user, seconds=104, chain_extensions=5)
        with pytest.raises(ValidationError) as exc:
            services.video_extend(owner=user, source=source, prompt="on", segment_seconds=20)
        assert "at most 120 s" in exc.value.error_dict["seconds"][0].message
        ok = services.video_extend(owner=user, source=source, prompt="on", segment_seconds=16)
        assert ok.seconds == 120

    @pytest.mark.parametrize("segment", [0, 5, 24])
    def test_it_refuses_other_segment_lengths(self, user: Any, segment: int) -> None:
        with pytest.raises(ValidationError) as exc:
            services.video_extend(
                owner=user, source=completed(user), prompt="on", segment_seconds=segment
            )
        assert (
            "Supported values are: '4', '8', '12', '16', and '20'."
            in exc.value.error_dict["seconds"][0].message
        )

    def test_it_extends_an_uploaded_mp4(self, user: Any, media_root: Path) -> None:
        video = services.video_extend(
            owner=user, upload=upload(mp4_bytes(3)), prompt="on", segment_seconds=4
        )
        # The closest supported shape: 320x240 (4:3) is nearest to 1792x1024 (7:4).
        assert (video.seconds, video.size, video.chain_extensions) == (7, "1792x1024", 1)
        assert video.source_upload.name == f"videos/{video.pk}/source.mp4"
        assert stored_files(media_root) == [f"videos/{video.pk}/source.mp4"]


class TestEdit:
    def test_it_keeps_the_source_length_and_size(self, user: Any) -> None:
        source = completed(user, size="720x1280", seconds=12)
        edit = services.video_edit(owner=user, source=source, prompt="black and white")
        assert (edit.operation, edit.size, edit.seconds, edit.source) == (
            "edit",
            "720x1280",
            12,
            source,
        )

    @pytest.mark.parametrize(
        ("size", "expected"),
        [((322, 180), "1280x720"), ((180, 320), "720x1280"), ((400, 700), "1024x1792")],
    )
    def test_an_uploaded_mp4_takes_the_closest_supported_size(
        self, user: Any, size: tuple[int, int], expected: str
    ) -> None:
        edit = services.video_edit(
            owner=user, upload=upload(mp4_bytes(2, size=size)), prompt="mirror", model="sora-2-pro"
        )
        assert (edit.size, edit.seconds, edit.model) == (expected, 2, "sora-2-pro")

    def test_a_model_given_with_a_source_id_is_honoured(self, user: Any) -> None:
        edit = services.video_edit(
            owner=user, source=completed(user), prompt="mirror", model="sora-2-pro"
        )
        assert edit.model == "sora-2-pro"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"Example data", "not an MP4 video that can be decoded"),
            (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "not an MP4 video that can be decoded"),
            (b"", "empty"),
        ],
    )
    def test_it_refuses_an_upload_that_is_not_a_video(
        self, user: Any, media_root: Path, data: bytes, message: str
    ) -> None:
        with pytest.raises(ValidationError) as exc:
            services.video_edit(owner=user, upload=upload(data), prompt="mirror")
        assert message in str(exc.value)
        assert not Video.objects.exists() and stored_files(media_root) == []

    def test_it_refuses_giving_both_an_id_and_an_upload(self, user: Any) -> None:
        with pytest.raises(ValidationError):
            services.video_edit(
                owner=user, source=completed(user), upload=upload(mp4_bytes(1)), prompt="x"
            )


class TestCharacters:
    def test_a_clip_becomes_a_character_with_a_poster(self, user: Any, media_root: Path) -> None:
        character = character_services.character_create(
            owner=user, name="  Pixel ", clip=upload(mp4_bytes(3))
        )
        assert character.name == "Pixel" and character.pk.startswith("char_")
        assert (character.width, character.height) == (320, 240)
        assert abs(character.duration - 3) < 0.1
        from PIL import Image

        with Image.open(character.poster.path) as poster:
            assert poster.size == (320, 240)
        assert len(stored_files(media_root)) == 2

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"Example data", "not an MP4 video that can be decoded"),
            (mp4_bytes(0.5), "needs at least 1 s"),
            (mp4_bytes(11), "the limit is 10 s"),
        ],
    )
    def test_it_refuses_clips_that_are_not_short_videos(
        self, user: Any, media_root: Path, data: bytes, message: str
    ) -> None:
        with pytest.raises(ValidationError) as exc:
            character_services.character_create(owner=user, name="Pixel", clip=upload(data))
        assert message in str(exc.value)
        assert not Character.objects.exists() and stored_files(media_root) == []

    def test_a_prompt_naming_characters_brings_them_in(self, user: Any) -> None:
        pixel = character_services.character_create(
            owner=user, name="Pixel", clip=upload(mp4_bytes(2))
        )
        character_services.character_create(owner=user, name="Nova", clip=upload(mp4_bytes(2)))
        found = character_services.characters_for_prompt(
            user=user, prompt="pixel waves at the camera"
        )
        assert found == [pixel]
        assert character_services.characters_for_prompt(user=user, prompt="pixelated sky") == []

    def test_at_most_two_characters(self, user: Any) -> None:
        made = [
            character_services.character_create(owner=user, name=name, clip=upload(mp4_bytes(1.5)))
            for name in ("Ada", "Bo", "Cy")
        ]
        with pytest.raises(ValidationError) as exc:
            character_services.characters_for_prompt(
                user=user, prompt="Ada and Bo", ids=[made[2].pk]
            )
        assert exc.value.error_dict["characters"][0].code == "too_many_characters"

    def test_a_name_means_one_character_the_callers_own_then_the_newest(self, user: Any) -> None:
        mate = make_user()
        team = make_team(members={user: "editor", mate: "editor"})
        clip = mp4_bytes(1.5)
        theirs = character_services.character_create(
            owner=mate, name="X", clip=upload(clip), team=team
        )
        mine_old = character_services.character_create(owner=user, name="x", clip=upload(clip))
        mine_new = character_services.character_create(owner=user, name="X", clip=upload(clip))
        # The official SDK's own sequence: create_character(name="x") three times, then a
        # prompt containing "x" (it failed with too_many_characters).
        assert character_services.characters_for_prompt(user=user, prompt="x") == [mine_new]
        assert mine_old.created_at <= mine_new.created_at
        # A teammate's prompt means the teammate's own.
        assert character_services.characters_for_prompt(user=mate, prompt="x walks") == [theirs]
        # Without one of their own, the team's, the newest of them.
        newer = character_services.character_create(
            owner=mate, name="x", clip=upload(clip), team=team
        )
        other = make_user()
        team.memberships.create(user=other, role="viewer")
        assert character_services.characters_for_prompt(user=other, prompt="x walks") == [newer]

    def test_staff_prompts_do_not_pull_in_everyones_characters(self, user: Any) -> None:
        character_services.character_create(owner=user, name="Pixel", clip=upload(mp4_bytes(1.5)))
        admin = make_user(is_staff=True)
        assert character_services.characters_for_prompt(user=admin, prompt="pixel waves") == []

    def test_a_name_inside_a_longer_named_one_means_the_longer(self, user: Any) -> None:
        clip = mp4_bytes(1.5)
        fox = character_services.character_create(owner=user, name="Red Fox", clip=upload(clip))
        red = character_services.character_create(owner=user, name="Red", clip=upload(clip))
        assert character_services.characters_for_prompt(user=user, prompt="the red fox runs") == [
            fox
        ]
        found = character_services.characters_for_prompt(user=user, prompt="red meets the red fox")
        assert {c.pk for c in found} == {fox.pk, red.pk}

    def test_an_unknown_character_id_is_refused(self, user: Any) -> None:
        with pytest.raises(ValidationError) as exc:
            character_services.characters_for_prompt(user=user, prompt="x", ids=["char_nope"])
        assert "Unknown character: 'char_nope'." in str(exc.value)


class TestPages:
    def test_the_detail_page_of_a_completed_video_offers_the_three_tools(
        self, client_in: Client, user: Any
    ) -> None:
        video = completed(user)
        body = client_in.get(video.get_absolute_url()).content.decode()
        for action in ("remix", "extend", "edit"):
            assert f'action="/videos/{video.pk}/{action}"' in body
        assert "6 extensions and 116 s left in this chain" in body

    def test_remixing_from_the_page_opens_the_new_video(self, client_in: Client, user: Any) -> None:
        video = completed(user)
        response = client_in.post(
            reverse("videos:remix", args=[video.pk]), {"remix-prompt": "at night"}
        )
        remix = Video.objects.get(operation="remix")
        assert response.status_code == 302 and response["Location"] == remix.get_absolute_url()
        body = client_in.get(remix.get_absolute_url()).content.decode()
        assert "Lineage" in body and video.get_absolute_url() in body

    def test_a_derived_video_says_where_it_started_once_its_source_is_gone(
        self, client_in: Client, user: Any
    ) -> None:
        source = completed(user)
        remix = completed(user, operation="remix", source=source)
        uploaded = completed(user, operation="edit", source_upload="uploads/clip.mp4")
        source.delete()
        body = client_in.get(remix.get_absolute_url()).content.decode()
        assert "Lineage" in body and "Started from a video that was deleted" in body
        body = client_in.get(uploaded.get_absolute_url()).content.decode()
        assert "Started from an uploaded file" in body
        plain = client_in.get(completed(user).get_absolute_url()).content.decode()
        assert "Lineage" not in plain

    def test_extending_past_the_budget_shows_the_error_and_stores_nothing(
        self, client_in: Client, user: Any
    ) -> None:
        video = completed(user, seconds=112)
        response = client_in.post(
            reverse("videos:extend", args=[video.pk]),
            {"extend-prompt": "on", "extend-seconds": "12"},
        )
        assert response.status_code == 400
        assert "a chain may last at most 120 s" in response.content.decode()
        assert Video.objects.count() == 1

    def test_a_running_video_cannot_be_remixed(self, client_in: Client, user: Any) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS)
        response = client_in.post(reverse("videos:remix", args=[video.pk]), {"remix-prompt": "x"})
        assert response.status_code == 400
        assert "only a completed video can be used" in response.content.decode()
        assert Video.objects.count() == 1

    def test_a_source_cannot_be_deleted_while_a_derivative_renders(
        self, client_in: Client, user: Any
    ) -> None:
        video = completed(user)
        services.video_edit(owner=user, source=video, prompt="mirror")
        response = client_in.post(reverse("videos:delete", args=[video.pk]))
        assert response.status_code == 400
        assert "still rendering from it" in response.content.decode()

    def test_characters_page_creates_lists_and_deletes(
        self,
        client_in: Client,
        user: Any,
        media_root: Path,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        response = client_in.post(
            reverse("videos:characters"),
            {"name": "Pixel", "video": upload(mp4_bytes(2), "pixel.mp4")},
        )
        assert response.status_code == 302
        character = Character.objects.get()
        listing = client_in.get(reverse("videos:characters")).content.decode()
        assert "Pixel" in listing and character.pk in listing
        poster = client_in.get(reverse("videos:character_media", args=[character.pk, "poster"]))
        assert poster.status_code == 200 and b"".join(poster.streaming_content)[:4] == b"\x89PNG"
        with django_capture_on_commit_callbacks(execute=True):
            client_in.post(reverse("videos:character_delete", args=[character.pk]))
        assert not Character.objects.exists() and stored_files(media_root) == []

    def test_a_bad_clip_gets_a_form_error(self, client_in: Client, media_root: Path) -> None:
        response = client_in.post(
            reverse("videos:characters"),
            {"name": "Pixel", "video": upload(b"Example data", "x.mp4")},
        )
        assert response.status_code == 400
        assert "not an MP4 video that can be decoded" in response.content.decode()
        assert stored_files(media_root) == []

    def test_the_create_form_picks_characters(
        self, client_in: Client, user: Any, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr("videos_app.services.async_task", lambda *a, **k: None)
        pixel = character_services.character_create(
            owner=user, name="Pixel", clip=upload(mp4_bytes(2))
        )
        page = client_in.get(reverse("videos:new")).content.decode()
        assert f'value="{pixel.pk}"' in page
        response = client_in.post(
            reverse("videos:new"),
            {
                "prompt": "a walk in the park",
                "model": "sora-2",
                "size": "720x1280",
                "seconds": "4",
                "characters": [pixel.pk],
            },
        )
        assert response.status_code == 302
        assert list(Video.objects.get().characters.all()) == [pixel]
