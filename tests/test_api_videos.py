"""The /v1/videos endpoints, through Django's test client with a Bearer key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api_helpers import (  # noqa: F401  (fixtures)
    api_fixture,
    api_key_fixture,
    assert_error,
    completed_video,
    make_key,
)
from tests.conftest import stored_files
from tests.factories import image_bytes, make_team, make_user, make_video
from videos_app.models import Character, ModelRoute, Provider, Video
from videos_app.providers import catalog

pytestmark = pytest.mark.django_db

VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "size",
    "seconds",
    "remixed_from_video_id",
    "error",
}


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def make_character(owner: User, name: str) -> Character:
    character = Character(owner=owner, name=name)
    character.clip.save("clip.mp4", ContentFile(b"clip"), save=False)
    character.save()
    return character


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


class TestCreate:
    def test_it_creates_a_queued_video_from_multipart(
        self, api: Client, user: User, django_capture_on_commit_callbacks: Any
    ) -> None:
        with django_capture_on_commit_callbacks() as callbacks:
            response = api.post("/v1/videos", {"prompt": "a paper boat", "seconds": "8"})
        assert len(callbacks) == 1  # queued to render once committed
        assert response.status_code == 200
        body = response.json()
        assert set(body) == VIDEO_KEYS
        assert body["object"] == "video"
        assert body["status"] == "queued"
        assert body["seconds"] == "8"
        assert body["model"] == catalog.DEFAULT_MODEL
        assert body["size"] == catalog.DEFAULT_SIZE
        assert body["completed_at"] is None
        assert body["expires_at"] is None
        assert body["remixed_from_video_id"] is None
        assert body["error"] is None
        assert isinstance(body["created_at"], int)
        video = Video.objects.get(pk=body["id"])
        assert video.owner == user
        assert video.seconds == 8
        assert video.provider == "local"

    def test_it_creates_a_video_from_json(self, api: Client) -> None:
        response = post_json(
            api,
            "/v1/videos",
            {"prompt": "a paper boat", "model": "sora-2-pro", "size": "1792x1024", "seconds": "12"},
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["model"], body["size"], body["seconds"]) == ("sora-2-pro", "1792x1024", "12")

    def test_it_applies_the_defaults(self, api: Client) -> None:
        body = post_json(api, "/v1/videos", {"prompt": "p"}).json()
        assert (body["model"], body["size"], body["seconds"]) == ("sora-2", "720x1280", "4")

    def test_it_treats_json_nulls_as_absent(self, api: Client) -> None:
        response = post_json(api, "/v1/videos", {"prompt": "p", "model": None, "size": None})
        assert response.status_code == 200

    def test_it_strips_the_prompt_like_the_page_form(self, api: Client) -> None:
        body = post_json(api, "/v1/videos", {"prompt": "  a boat \n"}).json()
        assert body["prompt"] == "a boat"

    def test_it_requires_a_prompt(self, api: Client) -> None:
        error = assert_error(
            api.post("/v1/videos", {"size": "720x1280"}),
            400,
            code="missing_required_parameter",
            param="prompt",
        )
        assert error["message"] == "Missing required parameter: 'prompt'."
        assert_error(api.post("/v1/videos", {"prompt": "   "}), 400, param="prompt")

    def test_it_refuses_a_prompt_over_the_limit(self, api: Client) -> None:
        prompt = "x" * (catalog.MAX_PROMPT_LENGTH + 1)
        assert_error(
            post_json(api, "/v1/videos", {"prompt": prompt}),
            400,
            code="string_above_max_length",
            param="prompt",
        )

    def test_it_refuses_null_characters_like_the_page_form(self, api: Client) -> None:
        assert_error(post_json(api, "/v1/videos", {"prompt": "a\x00b"}), 400, param="prompt")

    def test_it_lists_the_supported_sizes_for_an_unknown_size(self, api: Client) -> None:
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "size": "1080x1080"}),
            400,
            code="invalid_value",
            param="size",
        )
        assert error["message"] == (
            "Invalid value: '1080x1080'. Supported values are: "
            "'720x1280', '1280x720', '1024x1792', and '1792x1024'."
        )

    def test_it_checks_size_and_seconds_against_the_models_route(self, api: Client) -> None:
        ModelRoute.objects.create(
            name="narrow",
            provider=Provider.objects.get(name="local"),
            sizes=["1280x720"],
            seconds=[4],
        )
        assert_error(
            api.post("/v1/videos", {"prompt": "p", "model": "narrow", "size": "720x1280"}),
            400,
            param="size",
        )
        error = assert_error(
            api.post(
                "/v1/videos",
                {"prompt": "p", "model": "narrow", "size": "1280x720", "seconds": "8"},
            ),
            400,
            param="seconds",
        )
        assert error["message"] == (
            "Invalid value: '8'. The model 'narrow' does not render it on this studio. "
            "Supported values are: '4'."
        )
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "model": "narrow", "size": "9x9"}),
            400,
            param="size",
        )  # not a size at all: the plain message, with the sizes this model makes
        assert error["message"] == "Invalid value: '9x9'. Supported values are: '1280x720'."

    def test_it_refuses_an_unknown_model(self, api: Client) -> None:
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "model": "sora-3"}), 400, param="model"
        )
        assert error["message"].startswith("Invalid value: 'sora-3'. Supported values are: ")
        assert "'sora-2-pro'" in error["message"]

    def test_it_refuses_unknown_parameters(self, api: Client) -> None:
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "width": "720"}),
            400,
            code="unknown_parameter",
            param="width",
        )
        assert error["message"] == "Unknown parameter: 'width'."
        assert_error(
            post_json(api, "/v1/videos", {"prompt": "p", "input_reference": {"url": "x"}}),
            400,
            code="unknown_parameter",
            param="input_reference.url",
        )

    def test_it_accepts_and_ignores_the_end_user_identifier(self, api: Client) -> None:
        # LiteLLM and other clients of the retired service send OpenAI's `user` field.
        for response in (
            api.post("/v1/videos", {"prompt": "p", "user": "end-user-42"}),
            post_json(api, "/v1/videos", {"prompt": "p", "user": "end-user-42"}),
        ):
            assert response.status_code == 200, response.content
            assert "end-user-42" not in response.content.decode()
        assert Video.objects.count() == 2

    def test_it_refuses_seconds_that_are_not_a_string_in_json(self, api: Client) -> None:
        error = assert_error(
            post_json(api, "/v1/videos", {"prompt": "p", "seconds": 4}),
            400,
            code="invalid_type",
            param="seconds",
        )
        assert error["message"].startswith("Invalid type for 'seconds': expected one of '2', '3'")
        assert error["message"].endswith("but got an integer instead.")

    def test_it_refuses_a_prompt_that_is_not_a_string(self, api: Client) -> None:
        error = assert_error(
            post_json(api, "/v1/videos", {"prompt": ["a"]}), 400, code="invalid_type"
        )
        assert error["message"] == (
            "Invalid type for 'prompt': expected a string, but got an array instead."
        )

    def test_it_refuses_a_body_that_is_not_json(self, api: Client) -> None:
        response = api.post("/v1/videos", "{nope", content_type="application/json")
        assert_error(response, 400, code="invalid_json")
        assert_error(post_json(api, "/v1/videos", ["prompt"]), 400, code="invalid_json")

    def test_it_refuses_other_content_types(self, api: Client) -> None:
        response = api.post("/v1/videos", "prompt=p", content_type="text/plain")
        assert_error(response, 400, code="unsupported_content_type")

    def test_it_attaches_characters_listed_by_id_in_both_encodings(
        self, api: Client, user: User
    ) -> None:
        mo, ada = make_character(user, "Mo"), make_character(user, "Ada")
        response = api.post("/v1/videos", {"prompt": "p", "characters[][id]": [mo.pk, ada.pk]})
        assert response.status_code == 200, response.content
        video = Video.objects.get(pk=response.json()["id"])
        assert {c.pk for c in video.characters.all()} == {mo.pk, ada.pk}
        response = post_json(api, "/v1/videos", {"prompt": "p", "characters": [{"id": mo.pk}]})
        video = Video.objects.get(pk=response.json()["id"])
        assert [c.pk for c in video.characters.all()] == [mo.pk]

    def test_it_attaches_characters_named_in_the_prompt_like_the_page(
        self, api: Client, user: User
    ) -> None:
        mo = make_character(user, "Mo")
        response = api.post("/v1/videos", {"prompt": "Mo walks along the beach"})
        video = Video.objects.get(pk=response.json()["id"])
        assert [c.pk for c in video.characters.all()] == [mo.pk]

    def test_it_refuses_unknown_or_too_many_characters(self, api: Client, user: User) -> None:
        response = api.post("/v1/videos", {"prompt": "p", "characters[][id]": ["char_nope"]})
        assert_error(response, 400, code="unknown_character", param="characters")
        response = post_json(api, "/v1/videos", {"prompt": "p", "characters": [{"id": "a"}] * 3})
        assert_error(response, 400, code="array_above_max_length", param="characters")
        ids = [make_character(user, name).pk for name in ("Mo", "Ada")]
        make_character(user, "Lu")
        response = post_json(
            api, "/v1/videos", {"prompt": "Lu waves", "characters": [{"id": i} for i in ids]}
        )
        assert_error(response, 400, code="too_many_characters", param="characters")
        response = post_json(api, "/v1/videos", {"prompt": "p", "characters": [{"name": "x"}]})
        assert_error(response, 400, code="unknown_parameter", param="characters[0].name")
        assert not Video.objects.exists()

    def test_it_answers_413_for_a_body_over_the_cap(self, api: Client, settings: Any) -> None:
        settings.STUDIO_MAX_IMAGE_BYTES = 1000
        big = "x" * (2 * 1024 * 1024)
        assert_error(post_json(api, "/v1/videos", {"prompt": big}), 413)

    def test_a_form_may_carry_a_video_upload_over_the_json_cap(
        self, api: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings.STUDIO_MAX_IMAGE_BYTES = 1000  # the JSON cap is now about 1 MB
        upload = SimpleUploadedFile("upload", b"x" * (2 * 1024 * 1024))
        # Read, then refused by the upload's own check rather than the body cap.
        error = assert_error(
            api.post("/v1/videos/edits", {"prompt": "p", "video": upload}), 400, param="video"
        )
        assert "not an MP4 video" in error["message"]
        # A form's cap is the largest video upload (plus room for the other fields).
        monkeypatch.setattr(catalog, "MAX_UPLOAD_BYTES", 1000)
        upload.seek(0)
        assert_error(api.post("/v1/videos/edits", {"prompt": "p", "video": upload}), 413)


class TestCreateWithReference:
    def test_it_takes_an_uploaded_image_decided_by_its_content(self, api: Client) -> None:
        # What the SDK sends for bytes: filename "upload", application/octet-stream.
        upload = SimpleUploadedFile(
            "upload", image_bytes(720, 1280, "JPEG"), content_type="application/octet-stream"
        )
        response = api.post("/v1/videos", {"prompt": "p", "input_reference": upload})
        assert response.status_code == 200, response.content
        video = Video.objects.get(pk=response.json()["id"])
        assert video.reference_image.name.endswith("reference.png")
        assert video.reference_image.read()[:8] == b"\x89PNG\r\n\x1a\n"

    def test_it_refuses_a_file_that_is_not_an_image_whatever_its_name(self, api: Client) -> None:
        upload = SimpleUploadedFile("frame.png", b"GIF89a not really", content_type="image/png")
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "input_reference": upload}),
            400,
            param="input_reference",
            code="invalid_image",
        )
        assert "JPEG, PNG or WebP" in error["message"]
        assert stored_files() == []

    def test_it_refuses_an_image_of_another_size(self, api: Client) -> None:
        upload = SimpleUploadedFile("upload", image_bytes(1280, 720))
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "size": "720x1280", "input_reference": upload}),
            400,
            param="input_reference",
            code="image_size_mismatch",
        )
        assert "1280x720" in error["message"] and "720x1280" in error["message"]
        assert "tick" not in error["message"]  # the page form's hint stays on the page

    def test_it_takes_a_data_url_in_json_and_in_multipart(self, api: Client) -> None:
        url = data_url(image_bytes(1280, 720, "WEBP"))
        response = post_json(
            api,
            "/v1/videos",
            {"prompt": "p", "size": "1280x720", "input_reference": {"image_url": url}},
        )
        assert response.status_code == 200, response.content
        response = api.post(
            "/v1/videos",
            {"prompt": "p", "size": "1280x720", "input_reference[image_url]": url},
        )
        assert response.status_code == 200, response.content
        assert all(v.reference_image for v in Video.objects.all())

    def test_it_refuses_a_data_url_that_is_not_base64(self, api: Client) -> None:
        for url in ("data:image/png,abc", "data:image/png;base64,@@@"):
            response = post_json(
                api, "/v1/videos", {"prompt": "p", "input_reference": {"image_url": url}}
            )
            assert_error(response, 400, param="input_reference")

    def test_it_refuses_http_urls_while_fetching_is_off(self, api: Client) -> None:
        response = post_json(
            api,
            "/v1/videos",
            {"prompt": "p", "input_reference": {"image_url": "https://example.com/a.png"}},
        )
        assert_error(response, 400, param="input_reference", code="image_url_fetch_disabled")

    def test_it_wants_exactly_one_of_file_id_and_image_url(self, api: Client) -> None:
        for reference in ({}, {"file_id": "file-1", "image_url": "data:,"}):
            response = post_json(api, "/v1/videos", {"prompt": "p", "input_reference": reference})
            assert_error(response, 400, param="input_reference")

    def test_it_refuses_a_plain_string_reference(self, api: Client) -> None:
        response = api.post("/v1/videos", {"prompt": "p", "input_reference": "https://x/a.png"})
        assert_error(response, 400, code="invalid_type", param="input_reference")


class TestList:
    def make_videos(self, owner: User, count: int, **kwargs: Any) -> list[Video]:
        """Videos with distinct created_at, oldest first."""
        start = timezone.now() - timedelta(hours=1)
        videos = []
        for i in range(count):
            video = make_video(owner, **kwargs)
            Video.objects.filter(pk=video.pk).update(created_at=start + timedelta(seconds=i))
            videos.append(video)
        return videos

    def test_it_lists_newest_first_with_the_list_envelope(self, api: Client, user: User) -> None:
        videos = self.make_videos(user, 3)
        body = api.get("/v1/videos").json()
        assert body["object"] == "list"
        assert [v["id"] for v in body["data"]] == [v.pk for v in reversed(videos)]
        assert body["first_id"] == videos[-1].pk
        assert body["last_id"] == videos[0].pk
        assert body["has_more"] is False
        assert all(set(item) == VIDEO_KEYS for item in body["data"])

    def test_it_answers_an_empty_page_with_null_ids(self, api: Client) -> None:
        body = api.get("/v1/videos").json()
        assert body == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }

    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_it_pages_with_after_in_either_order(self, api: Client, user: User, order: str) -> None:
        videos = self.make_videos(user, 7)
        expected = [v.pk for v in (videos if order == "asc" else reversed(videos))]
        seen: list[str] = []
        after = ""
        while True:
            query = f"?limit=3&order={order}" + (f"&after={after}" if after else "")
            body = api.get("/v1/videos" + query).json()
            seen += [v["id"] for v in body["data"]]
            if not body["has_more"]:
                break
            after = body["last_id"]
        assert seen == expected

    def test_it_breaks_created_at_ties_by_id(self, api: Client, user: User) -> None:
        videos = [make_video(user) for _ in range(5)]
        Video.objects.update(created_at=timezone.now())
        ids = sorted(v.pk for v in videos)
        first = api.get("/v1/videos?order=asc&limit=2").json()
        rest = api.get(f"/v1/videos?order=asc&after={first['last_id']}").json()
        assert [v["id"] for v in first["data"] + rest["data"]] == ids

    def test_it_answers_400_for_an_unknown_after(self, api: Client) -> None:
        assert_error(api.get("/v1/videos?after=video_nope"), 400, param="after")

    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_it_pages_on_from_a_video_deleted_meanwhile(
        self, api: Client, user: User, order: str
    ) -> None:
        videos = self.make_videos(user, 5, status="completed")
        expected = [v.pk for v in (videos if order == "asc" else reversed(videos))]
        first = api.get(f"/v1/videos?limit=2&order={order}").json()
        for item in first["data"]:
            assert api.delete(f"/v1/videos/{item['id']}").status_code == 200
        rest = api.get(f"/v1/videos?limit=10&order={order}&after={first['last_id']}").json()
        assert [v["id"] for v in rest["data"]] == expected[2:]

    def test_someone_elses_deleted_video_is_no_cursor(self, api: Client, user: User) -> None:
        """As for a live video: a cursor tells nothing about what the key cannot see."""
        other = self.make_videos(make_user("omar"), 1, status="completed")[0]
        mine = self.make_videos(user, 1, status="completed")[0]
        other_id, mine_id = other.pk, mine.pk
        other.delete()
        assert_error(api.get(f"/v1/videos?after={other_id}"), 400, param="after")
        mine.delete()
        assert api.get(f"/v1/videos?after={mine_id}").json()["data"] == []

    def test_it_takes_limits_from_0_to_100(self, api: Client, user: User) -> None:
        self.make_videos(user, 3)
        body = api.get("/v1/videos?limit=0").json()
        assert body["data"] == [] and body["has_more"] is True and body["last_id"] is None
        assert len(api.get("/v1/videos?limit=100").json()["data"]) == 3
        for bad in ("101", "-1", "ten"):
            assert_error(api.get(f"/v1/videos?limit={bad}"), 400, param="limit")
        assert_error(api.get("/v1/videos?order=sideways"), 400, param="order")

    def test_it_ignores_unknown_query_parameters(self, api: Client) -> None:
        assert api.get("/v1/videos?foo=bar").status_code == 200

    def test_it_lists_with_the_same_number_of_queries_at_any_size(
        self, api: Client, user: User
    ) -> None:
        self.make_videos(user, 2)
        api.get("/v1/videos")  # warm: the key's last_used_at write
        with CaptureQueriesContext(connection) as small:
            first = api.get("/v1/videos?limit=100").json()
        teammate = make_user()
        self.make_videos(teammate, 30, team=make_team(members={user: "viewer", teammate: "editor"}))
        with CaptureQueriesContext(connection) as large:
            api.get("/v1/videos?limit=100")
        assert len(small) == len(large) == 2  # the key, the page
        with CaptureQueriesContext(connection) as paged:
            api.get(f"/v1/videos?limit=100&after={first['last_id']}")
        assert len(paged) == 3  # the key, the cursor, the page


class TestRetrieve:
    def test_it_returns_the_video_with_a_poll_hint_while_queued(
        self, api: Client, user: User
    ) -> None:
        video = make_video(user)
        response = api.get(f"/v1/videos/{video.pk}")
        assert response.status_code == 200
        assert response.json()["id"] == video.pk
        assert int(response["openai-poll-after-ms"]) >= 500

    @pytest.mark.parametrize(
        ("ran", "progress", "hint"),
        [
            (1.5, 3, 1000),  # just started: the rate is mostly start-up, a second
            (8.0, 5, 1000),  # barely moved
            (8.0, 50, 2000),  # 8 s left: a quarter
            (20.0, 10, 5000),  # 180 s left: at most 5 s
            (99.0, 99, 500),  # nearly done: at least half a second
        ],
    )
    def test_the_poll_hint_follows_a_settled_estimate_only(
        self, api: Client, user: User, ran: float, progress: int, hint: int
    ) -> None:
        video = make_video(
            user, status="in_progress", progress=progress,
            started_at=timezone.now() - timedelta(seconds=ran),
        )  # fmt: skip
        response = api.get(f"/v1/videos/{video.pk}")
        assert abs(int(response["openai-poll-after-ms"]) - hint) <= 50

    def test_it_sends_no_poll_hint_once_finished(self, api: Client, user: User) -> None:
        video = completed_video(user)
        response = api.get(f"/v1/videos/{video.pk}")
        body = response.json()
        assert body["status"] == "completed" and body["progress"] == 100
        assert body["completed_at"] == int(video.completed_at.timestamp())  # type: ignore[union-attr]
        assert "openai-poll-after-ms" not in response

    def test_it_reports_a_failure_on_the_job_not_as_an_http_error(
        self, api: Client, user: User
    ) -> None:
        video = make_video(
            user,
            status=Video.Status.FAILED,
            error_code="moderation_blocked",
            error_message="Blocked.",
        )
        response = api.get(f"/v1/videos/{video.pk}")
        assert response.status_code == 200
        assert response.json()["error"] == {"code": "moderation_blocked", "message": "Blocked."}

    def test_it_reports_the_remix_source(self, api: Client, user: User) -> None:
        video = make_video(user, remixed_from_video_id="video_abc")
        assert api.get(f"/v1/videos/{video.pk}").json()["remixed_from_video_id"] == "video_abc"

    def test_it_answers_404_for_an_unknown_video(self, api: Client) -> None:
        error = assert_error(api.get("/v1/videos/video_nope"), 404, code="not_found")
        assert "video_nope" in error["message"]

    def test_it_answers_404_for_a_video_the_key_cannot_see(self, api: Client, user: User) -> None:
        video = make_video(make_user(), team=make_team())
        assert_error(api.get(f"/v1/videos/{video.pk}"), 404)


class TestDelete:
    def test_it_deletes_a_finished_video_and_its_files(
        self, api: Client, user: User, django_capture_on_commit_callbacks: Any
    ) -> None:
        video = completed_video(user)
        assert stored_files()
        # The SDK sends DELETE with a JSON content type and an empty body.
        with django_capture_on_commit_callbacks(execute=True):
            response = api.delete(f"/v1/videos/{video.pk}", content_type="application/json")
        assert response.status_code == 200
        assert response.json() == {"id": video.pk, "object": "video.deleted", "deleted": True}
        assert not Video.objects.filter(pk=video.pk).exists()
        assert stored_files() == []

    def test_it_answers_400_not_409_while_the_video_renders(self, api: Client, user: User) -> None:
        video = make_video(user, status=Video.Status.IN_PROGRESS)
        assert_error(api.delete(f"/v1/videos/{video.pk}"), 400, code="not_finished")
        assert Video.objects.filter(pk=video.pk).exists()

    def test_it_answers_400_while_a_derivative_renders_from_it(
        self, api: Client, user: User
    ) -> None:
        source = completed_video(user)
        make_video(user, source=source, status=Video.Status.QUEUED)
        assert_error(api.delete(f"/v1/videos/{source.pk}"), 400, code="source_in_use")

    def test_it_answers_403_for_someone_elses_video(self, api: Client, user: User) -> None:
        owner = make_user()
        video = completed_video(owner, team=make_team(members={owner: "admin", user: "editor"}))
        assert_error(api.delete(f"/v1/videos/{video.pk}"), 403, code="permission_denied")
        assert Video.objects.filter(pk=video.pk).exists()

    def test_staff_keys_may_delete_anyones_video(self) -> None:
        staff = make_user(is_staff=True)
        video = completed_video(make_user())
        client = Client(**make_key(staff).headers)
        assert client.delete(f"/v1/videos/{video.pk}").status_code == 200

    def test_it_answers_404_for_an_unknown_video(self, api: Client) -> None:
        assert_error(api.delete("/v1/videos/video_nope"), 404)


class TestContent:
    @pytest.mark.parametrize(
        ("variant", "content_type", "magic"),
        [
            ("video", "video/mp4", b"\x00\x00\x00\x18ftyp"),
            ("thumbnail", "image/webp", b"RIFF"),
            ("spritesheet", "image/jpeg", b"\xff\xd8\xff"),
        ],
    )
    def test_it_serves_each_variant_as_raw_bytes(
        self, api: Client, user: User, variant: str, content_type: str, magic: bytes
    ) -> None:
        video = completed_video(user)
        response = api.get(
            f"/v1/videos/{video.pk}/content?variant={variant}",
            headers={"Accept": "application/binary"},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert data.startswith(magic)
        assert int(response["Content-Length"]) == len(data)
        assert response["x-request-id"].startswith("req_")

    def test_it_serves_the_video_by_default_with_range_support(
        self, api: Client, user: User
    ) -> None:
        video = completed_video(user)
        response = api.get(f"/v1/videos/{video.pk}/content", headers={"Range": "bytes=0-3"})
        assert response.status_code == 206
        assert b"".join(response.streaming_content) == b"\x00\x00\x00\x18"  # type: ignore[attr-defined]

    def test_it_answers_400_not_409_until_completed(self, api: Client, user: User) -> None:
        for status in (Video.Status.QUEUED, Video.Status.IN_PROGRESS):
            video = make_video(user, status=status)
            assert_error(api.get(f"/v1/videos/{video.pk}/content"), 400, code="video_not_ready")

    def test_a_failed_video_says_it_failed_not_that_it_is_not_ready(
        self, api: Client, user: User
    ) -> None:
        video = make_video(user, status=Video.Status.FAILED, error_code="render_failed")
        error = assert_error(api.get(f"/v1/videos/{video.pk}/content"), 400, code="video_failed")
        assert "failed (render_failed); it has no content" in error["message"]

    def test_head_content_and_a_file_name_for_curl(self, api: Client, user: User) -> None:
        video = completed_video(user)
        url = f"/v1/videos/{video.pk}/content"
        head = api.head(url)
        got = api.get(url)
        assert head.status_code == 200 and head["Content-Length"] == got["Content-Length"]
        assert got["Content-Disposition"] == f'inline; filename="{video.pk}.mp4"'
        thumb = api.get(url + "?variant=thumbnail")
        assert thumb["Content-Disposition"].endswith(f'"{video.pk}.webp"')

    @pytest.mark.parametrize(
        ("header", "status"),
        [
            ("items=0-5", 200),  # another unit: ignored (RFC 9110), the whole file
            ("bytes=abc", 200),  # not a range: ignored
            ("bytes=5-2", 200),  # last before first: not a valid range, ignored
            ("bytes=99999999-", 416),  # valid, outside the file
        ],
    )
    def test_odd_ranges_get_the_file_or_a_416_envelope(
        self, api: Client, user: User, header: str, status: int
    ) -> None:
        video = completed_video(user)
        response = api.get(f"/v1/videos/{video.pk}/content", headers={"Range": header})
        assert response.status_code == status
        if status == 416:
            error = assert_error(response, 416, code="range_not_satisfiable")
            assert error["param"] == "Range"
            assert response["Content-Range"] == f"bytes */{video.video_file.size}"
        else:
            assert "Content-Range" not in response
            assert int(response["Content-Length"]) == video.video_file.size

    def test_it_refuses_an_unknown_variant(self, api: Client, user: User) -> None:
        video = completed_video(user)
        error = assert_error(
            api.get(f"/v1/videos/{video.pk}/content?variant=poster"), 400, param="variant"
        )
        assert error["message"] == (
            "Invalid value: 'poster'. Supported values are: "
            "'video', 'thumbnail', and 'spritesheet'."
        )

    def test_it_answers_404_when_the_file_is_gone(self, api: Client, user: User) -> None:
        video = completed_video(user)
        video.video_file.storage.delete(video.video_file.name)
        assert_error(api.get(f"/v1/videos/{video.pk}/content"), 404)
        assert_error(api.get("/v1/videos/video_nope/content"), 404)
