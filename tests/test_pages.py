"""The studio's pages: sign-in, gallery, create form, detail, polling, delete, media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import stored_files
from tests.factories import image_bytes, make_team, make_user, make_video
from videos_app.models import Video
from videos_app.polling import poll_token

pytestmark = pytest.mark.django_db


def post_create(client: Client, **overrides: object) -> object:
    data: dict[str, object] = {
        "prompt": "a red fox running through snow",
        "model": "sora-2",
        "size": "720x1280",
        "seconds": "4",
    }
    data.update(overrides)
    return client.post(reverse("videos:new"), data)


def completed_video(owner: object, **kwargs: object) -> Video:
    video = make_video(owner, status=Video.Status.COMPLETED, progress=100, **kwargs)  # type: ignore[arg-type]
    folder = f"videos/{video.pk}"
    video.video_file.save(
        f"{folder}/video.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    )
    video.thumbnail_file.save(f"{folder}/thumbnail.webp", ContentFile(b"RIFF....WEBPVP8 "))
    video.spritesheet_file.save(f"{folder}/spritesheet.jpg", ContentFile(b"\xff\xd8\xff\xe0"))
    return video


class TestSignIn:
    def test_it_redirects_anonymous_users_to_sign_in(self, client: Client) -> None:
        for url in (reverse("videos:gallery"), reverse("videos:new")):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))

    def test_it_signs_in_with_a_password(self, client: Client) -> None:
        make_user("ada", password="correct horse battery")
        response = client.post(
            reverse("login"), {"username": "ada", "password": "correct horse battery"}
        )
        assert response.status_code == 302
        assert client.get(reverse("videos:gallery")).status_code == 200

    def test_it_hides_media_from_anonymous_users(self, client: Client, user: object) -> None:
        video = completed_video(user)
        response = client.get(reverse("videos:media", args=[video.pk, "video"]))
        assert response.status_code == 302


class TestGallery:
    def test_it_shows_an_empty_state(self, client_in: Client) -> None:
        response = client_in.get(reverse("videos:gallery"))
        assert response.status_code == 200
        assert b"No videos yet" in response.content

    def test_it_lists_the_team_videos_newest_first(self, client_in: Client, user: object) -> None:
        other = make_user("bo")
        team = make_team(members={user: "editor", other: "editor"})
        make_video(user, prompt="first prompt")
        make_video(other, prompt="second prompt", team=team)
        make_video(make_user("outsider"), prompt="third prompt")
        body = client_in.get(reverse("videos:gallery")).content.decode()
        assert body.index("second prompt") < body.index("first prompt")
        assert "bo" in body
        assert "third prompt" not in body  # not in a team of the user's

    def test_it_paginates(self, client_in: Client, user: object) -> None:
        for i in range(30):
            make_video(user, prompt=f"prompt number {i}")
        page1 = client_in.get(reverse("videos:gallery")).content.decode()
        page2 = client_in.get(reverse("videos:gallery") + "?page=2").content.decode()
        assert "prompt number 29" in page1 and "prompt number 29" not in page2
        assert "prompt number 0<" in page2 or "prompt number 0" in page2
        assert "Page 2 of 2" in page2

    def test_its_queries_do_not_grow_with_the_number_of_videos(
        self, client_in: Client, user: object
    ) -> None:
        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client_in.get(reverse("videos:gallery")).status_code == 200
            return len(ctx)

        team = make_team(members={user: "viewer"})
        make_video(user)
        count()  # the session and user are cached from here on
        few = count()
        for _ in range(40):
            teammate = make_user()
            make_team(members={teammate: "editor"})  # a team of their own too
            make_video(teammate, team=team)
        assert count() == few

    def test_it_polls_once_for_all_running_jobs(self, client_in: Client, user: object) -> None:
        running = [make_video(user, status=Video.Status.IN_PROGRESS, progress=10) for _ in range(3)]
        make_video(user, status=Video.Status.COMPLETED)
        body = client_in.get(reverse("videos:gallery")).content.decode()
        assert body.count('hx-trigger="load') == 1  # the filter bar's triggers are not polls
        for video in running:
            assert video.pk in body.split('id="gallery-poller"')[1].split(">")[0]

    def test_it_does_not_poll_when_nothing_runs(self, client_in: Client, user: object) -> None:
        completed_video(user)
        body = client_in.get(reverse("videos:gallery")).content.decode()
        assert 'hx-trigger="load' not in body


class TestGalleryProgress:
    def test_it_swaps_running_cards_out_of_band(self, client_in: Client, user: object) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS, progress=42)
        response = client_in.get(
            reverse("videos:gallery_progress") + f"?ids={video.pk}&n=2",
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert f'id="card-{video.pk}" hx-swap-oob="outerHTML"' in body
        assert 'value="42"' in body
        assert "&amp;n=3" in body

    def test_it_stops_polling_with_286_when_all_are_done(
        self, client_in: Client, user: object
    ) -> None:
        video = completed_video(user)
        response = client_in.get(reverse("videos:gallery_progress") + f"?ids={video.pk}")
        assert response.status_code == 286
        assert "hx-trigger" not in response.content.decode()

    def test_it_ignores_videos_the_user_cannot_see(self, client: Client) -> None:
        video = make_video(status=Video.Status.IN_PROGRESS)
        outsider_client = Client()
        response = outsider_client.get(reverse("videos:gallery_progress") + f"?ids={video.pk}")
        assert response.status_code == 302


class TestCreate:
    def test_it_shows_the_form(self, client_in: Client) -> None:
        response = client_in.get(reverse("videos:new"))
        assert response.status_code == 200
        for name in ("prompt", "model", "size", "seconds", "reference_image", "fit_image"):
            assert f'name="{name}"' in response.content.decode()

    def test_it_creates_a_queued_video_and_enqueues_it_on_commit(
        self,
        client_in: Client,
        user: object,
        monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: object,
    ) -> None:
        enqueued: list[tuple[object, ...]] = []
        monkeypatch.setattr(
            "videos_app.services.async_task", lambda *args, **kw: enqueued.append(args)
        )
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            response = post_create(client_in, seconds="8", size="1280x720")
        video = Video.objects.get()
        assert response.status_code == 302
        assert response["Location"] == video.get_absolute_url()
        assert (video.status, video.seconds, video.size, video.owner) == (
            "queued",
            8,
            "1280x720",
            user,
        )
        assert video.provider == "local"
        assert enqueued == [("videos_app.tasks.render_video", video.pk)]

    def test_video_ids_look_like_the_api_and_are_unguessable(self, user: object) -> None:
        ids = {make_video(user).pk for _ in range(20)}
        assert len(ids) == 20
        assert all(i.startswith("video_") and len(i) == 38 for i in ids)

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"prompt": ""}, "prompt", "Describe the video you want."),
            ({"prompt": "   "}, "prompt", "Describe the video you want."),
            ({"prompt": "x" * 32_001}, "prompt", "at most 32000 characters"),
            ({"model": "sora-9"}, "model", "The model sora-9 is not available"),
            ({"size": "1080x1080"}, "size", "Select a valid choice"),
            ({"seconds": "5"}, "seconds", "Select a valid choice"),
        ],
    )
    def test_it_rejects_bad_input_and_stores_nothing(
        self,
        client_in: Client,
        media_root: Path,
        overrides: dict[str, object],
        field: str,
        message: str,
    ) -> None:
        response = post_create(client_in, **overrides)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Video.objects.exists()
        assert stored_files(media_root) == []


class TestReferenceImage:
    def upload(self, data: bytes, name: str = "ref.png") -> ContentFile[bytes]:
        return ContentFile(data, name=name)

    def test_it_accepts_an_image_of_exactly_the_video_size(
        self, client_in: Client, media_root: Path
    ) -> None:
        response = post_create(
            client_in, reference_image=self.upload(image_bytes(720, 1280, "JPEG"), "me.jpg")
        )
        assert response.status_code == 302
        video = Video.objects.get()
        assert video.reference_image.name == f"videos/{video.pk}/reference.png"
        from PIL import Image

        with Image.open(video.reference_image.path) as img:
            assert img.size == (720, 1280)

    @pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
    def test_it_decides_the_type_from_the_content_not_the_name(
        self, client_in: Client, fmt: str
    ) -> None:
        response = post_create(
            client_in, reference_image=self.upload(image_bytes(720, 1280, fmt), "upload")
        )
        assert response.status_code == 302

    def test_it_rejects_an_image_of_another_size_with_a_clear_message(
        self, client_in: Client, media_root: Path
    ) -> None:
        response = post_create(client_in, reference_image=self.upload(image_bytes(640, 480)))
        assert response.status_code == 400
        assert "The image is 640x480 but the video is 720x1280" in response.content.decode()
        assert not Video.objects.exists()
        assert stored_files(media_root) == []

    def test_it_fits_an_image_of_another_size_when_asked(self, client_in: Client) -> None:
        response = post_create(
            client_in, reference_image=self.upload(image_bytes(640, 480)), fit_image="on"
        )
        assert response.status_code == 302
        from PIL import Image

        with Image.open(Video.objects.get().reference_image.path) as img:
            assert img.size == (720, 1280)

    @pytest.mark.parametrize(
        ("data", "name", "message"),
        [
            (b"%PDF-1.4 not an image at all", "ref.png", "not a JPEG, PNG or WebP"),
            (b"GIF89a" + b"\x00" * 100, "ref.gif", "not a JPEG, PNG or WebP"),
            (image_bytes(720, 1280)[:200], "ref.png", "damaged"),
        ],
    )
    def test_it_rejects_files_that_are_not_usable_images(
        self, client_in: Client, media_root: Path, data: bytes, name: str, message: str
    ) -> None:
        response = post_create(client_in, reference_image=self.upload(data, name), fit_image="on")
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Video.objects.exists()
        assert stored_files(media_root) == []

    def test_it_rejects_an_image_over_the_size_limit(
        self, client_in: Client, settings: object, media_root: Path
    ) -> None:
        settings.STUDIO_MAX_IMAGE_BYTES = 1024  # type: ignore[attr-defined]
        response = post_create(
            client_in,
            reference_image=self.upload(
                image_bytes(720, 1280, "BMP") if False else b"\x89PNG" + b"0" * 5000
            ),
        )
        assert response.status_code == 400
        assert "larger than" in response.content.decode()
        assert stored_files(media_root) == []

    def test_it_rejects_a_decompression_bomb_before_decoding_it(
        self, client_in: Client, media_root: Path
    ) -> None:
        # A 20000x20000 PNG of one colour compresses to a few hundred kilobytes.
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("1", (20000, 20000)).save(buffer, format="PNG")
        response = post_create(
            client_in, reference_image=self.upload(buffer.getvalue()), fit_image="on"
        )
        assert response.status_code == 400
        assert "too many pixels" in response.content.decode()
        assert stored_files(media_root) == []


class TestDetail:
    def test_it_shows_a_progress_bar_that_polls_while_running(
        self, client_in: Client, user: object
    ) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS, progress=37)
        body = client_in.get(video.get_absolute_url()).content.decode()
        assert 'value="37"' in body and "37%" in body
        assert f'hx-get="/videos/{video.pk}/status?n=0&amp;t=' in body
        # a fast local job: polled about every second (paced by the job, jittered)
        assert 1.0 <= float(body.split('hx-trigger="load delay:')[1].split("s")[0]) <= 1.2

    def test_the_status_fragment_is_paced_by_the_job(self, client_in: Client, user: object) -> None:
        # (tests/test_polling_pace.py has the pace itself; the tab's count n does not set it)
        video = make_video(user, status=Video.Status.IN_PROGRESS, progress=37)
        url = reverse("videos:status", args=[video.pk])
        delays = []
        for n in (0, 4, 8, 30):
            body = client_in.get(f"{url}?n={n}", headers={"HX-Request": "true"}).content.decode()
            assert "<html" not in body
            delays.append(float(body.split("load delay:")[1].split("s")[0]))
        assert all(1.0 <= delay <= 1.2 for delay in delays)

    def test_the_status_fragment_stops_polling_when_the_job_ends(
        self, client_in: Client, user: object
    ) -> None:
        video = completed_video(user)
        response = client_in.get(
            reverse("videos:status", args=[video.pk]), headers={"HX-Request": "true"}
        )
        assert response.status_code == 286
        body = response.content.decode()
        assert "<video" in body and "load delay:" not in body  # no poll left

    def test_a_poll_costs_at_most_two_queries(self, client_in: Client, user: object) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS, progress=5)
        url = reverse("videos:status", args=[video.pk])
        client_in.get(url)  # the session is now in the cache
        with CaptureQueriesContext(connection) as ctx:
            client_in.get(url, headers={"HX-Request": "true"})
        assert len(ctx) <= 2, [q["sql"] for q in ctx.captured_queries]

    def test_a_poll_with_the_page_token_needs_no_session(
        self, client_in: Client, user: object
    ) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS, progress=64)
        body = client_in.get(video.get_absolute_url()).content.decode()
        poll_url = (
            body.split('id="job"')[1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
        )
        with CaptureQueriesContext(connection) as ctx:
            response = Client().get(poll_url, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert 'value="64"' in response.content.decode()
        assert 'id="status-badge"' in response.content.decode()
        assert len(ctx) == 1

    def test_a_poll_with_a_forged_token_falls_back_to_the_session(self, user: object) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS)
        url = reverse("videos:status", args=[video.pk]) + "?t=1xWJZs:forged"
        assert Client().get(url).status_code == 302  # to the sign-in page
        other = make_video(user, status=Video.Status.IN_PROGRESS)
        url = reverse("videos:status", args=[video.pk]) + f"?t={poll_token(other.pk)}"
        assert Client().get(url).status_code == 302  # a token for another video is no use

    def test_it_shows_a_failed_job_with_its_error(self, client_in: Client, user: object) -> None:
        video = make_video(
            user,
            status=Video.Status.FAILED,
            error_code="render_timeout",
            error_message="The render took too long.",
        )
        body = client_in.get(video.get_absolute_url()).content.decode()
        assert "The render took too long." in body and "render_timeout" in body

    def test_it_shows_the_player_and_downloads_when_completed(
        self, client_in: Client, user: object
    ) -> None:
        video = completed_video(user)
        body = client_in.get(video.get_absolute_url()).content.decode()
        assert f'src="/videos/{video.pk}/media/video"' in body
        for variant in ("video", "thumbnail", "spritesheet"):
            assert f"/videos/{video.pk}/media/{variant}?download=1" in body

    def test_it_answers_404_for_an_unknown_video(self, client_in: Client) -> None:
        assert client_in.get("/videos/video_doesnotexist").status_code == 404


class TestMedia:
    @pytest.mark.parametrize("variant", ["video", "thumbnail", "spritesheet"])
    def test_a_file_gone_from_storage_is_not_found_and_logged(
        self, client_in: Client, user: object, variant: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        video = completed_video(user)
        stored = getattr(video, f"{variant}_file")
        stored.storage.delete(stored.name)
        response = client_in.get(reverse("videos:media", args=[video.pk, variant]))
        assert response.status_code == 404
        assert stored.name in caplog.text  # the operator learns which file

    def test_it_serves_the_whole_file(self, client_in: Client, user: object) -> None:
        video = completed_video(user)
        response = client_in.get(reverse("videos:media", args=[video.pk, "video"]))
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp4"
        assert response["Accept-Ranges"] == "bytes"
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert body == video.video_file.open("rb").read()
        assert int(response["Content-Length"]) == len(body)

    @pytest.mark.parametrize(
        ("header", "start", "end"),
        [
            ("bytes=0-99", 0, 99),
            ("bytes=100-", 100, None),
            ("bytes=-50", -50, None),
            ("bytes=10-999999", 10, None),
        ],
    )
    def test_it_answers_range_requests_with_206(
        self, client_in: Client, user: object, header: str, start: int, end: int | None
    ) -> None:
        video = completed_video(user)
        whole = video.video_file.open("rb").read()
        response = client_in.get(
            reverse("videos:media", args=[video.pk, "video"]), headers={"Range": header}
        )
        assert response.status_code == 206
        expected = whole[start:] if end is None else whole[start : end + 1]
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert body == expected
        first = start if start >= 0 else len(whole) + start
        assert (
            response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(whole)}"
        )

    def test_it_answers_416_for_an_unsatisfiable_range(
        self, client_in: Client, user: object
    ) -> None:
        video = completed_video(user)
        response = client_in.get(
            reverse("videos:media", args=[video.pk, "video"]), headers={"Range": "bytes=999999-"}
        )
        assert response.status_code == 416
        assert response["Content-Range"].startswith("bytes */")

    def test_it_offers_downloads_as_attachments(self, client_in: Client, user: object) -> None:
        video = completed_video(user)
        response = client_in.get(
            reverse("videos:media", args=[video.pk, "spritesheet"]) + "?download=1"
        )
        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"] == f'attachment; filename="{video.pk}.jpg"'

    def test_it_answers_404_while_the_video_is_not_completed(
        self, client_in: Client, user: object
    ) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS)
        assert client_in.get(reverse("videos:media", args=[video.pk, "video"])).status_code == 404

    def test_it_answers_404_for_an_unknown_variant(self, client_in: Client, user: object) -> None:
        video = completed_video(user)
        assert client_in.get(reverse("videos:media", args=[video.pk, "poster"])).status_code == 404


class TestDelete:
    def test_the_owner_deletes_a_video_with_its_files(
        self,
        client_in: Client,
        user: object,
        media_root: Path,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        video = completed_video(user)
        assert len(stored_files(media_root)) == 3
        assert client_in.get(reverse("videos:delete", args=[video.pk])).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = client_in.post(reverse("videos:delete", args=[video.pk]))
        assert response.status_code == 302
        assert not Video.objects.exists()
        assert stored_files(media_root) == []
        assert not (media_root / "videos" / video.pk).exists()

    def test_staff_can_delete_anyones_video(self, media_root: Path) -> None:
        video = completed_video(make_user())
        staff = Client()
        staff.force_login(make_user("boss", is_staff=True))
        assert staff.post(reverse("videos:delete", args=[video.pk])).status_code == 302
        assert not Video.objects.exists()

    def test_another_user_cannot_delete_it(self, media_root: Path) -> None:
        owner, teammate = make_user(), make_user()
        team = make_team(members={owner: "editor", teammate: "editor"})
        video = completed_video(owner, team=team)
        other = Client()
        other.force_login(teammate)
        assert other.post(reverse("videos:delete", args=[video.pk])).status_code == 403
        assert Video.objects.filter(pk=video.pk).exists()
        assert len(stored_files(media_root)) == 3

    def test_a_running_video_cannot_be_deleted(self, client_in: Client, user: object) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS)
        response = client_in.post(reverse("videos:delete", args=[video.pk]))
        assert response.status_code == 400
        assert "still rendering" in response.content.decode()
        assert Video.objects.filter(pk=video.pk).exists()

    def test_the_delete_button_is_hidden_from_other_users(
        self, client_in: Client, user: object
    ) -> None:
        owner = make_user()
        team = make_team(members={owner: "editor", user: "editor"})
        video = completed_video(owner, team=team)
        body = client_in.get(video.get_absolute_url()).content.decode()
        assert video.prompt in body  # the teammate sees the video
        assert reverse("videos:delete", args=[video.pk]) not in body


def test_favicon_ico_points_at_the_studio_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("studio/favicon.svg")


def test_the_video_page_lists_the_characters_it_used_that_the_viewer_may_see(
    db: None,
) -> None:
    from videos_app.models import Character

    owner, teammate = make_user("owner"), make_user("teammate")
    team = make_team(members={owner: "editor", teammate: "viewer"})
    shared = Character.objects.create(owner=owner, team=team, name="Mo", clip="c/mo.mp4")
    own = Character.objects.create(owner=owner, name="Secret fox", clip="c/fox.mp4")
    video = make_video(owner=owner, team=team)
    video.characters.set([shared, own])
    client = Client()
    client.force_login(teammate)
    page = client.get(f"/videos/{video.pk}").content.decode()
    assert f'<a href="/characters/{shared.pk}">Mo</a>' in page
    assert "1 you cannot see" in page
    assert "Secret fox" not in page
    client.force_login(owner)
    page = client.get(f"/videos/{video.pk}").content.decode()
    assert f'<a href="/characters/{own.pk}">Secret fox</a>' in page
    assert "you cannot see" not in page
