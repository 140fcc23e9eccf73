"""Wire rules that hold for every /v1 response: ids, envelopes, no redirects, no CSRF."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Key,
    api_fixture,
    api_key_fixture,
    assert_error,
    completed_video,
)
from tests.factories import make_video
from videos_app.api import parsing
from videos_app.models import Video

pytestmark = pytest.mark.django_db


class TestRequestIds:
    def test_every_response_carries_a_unique_request_id(self, api: Client, user: User) -> None:
        video = completed_video(user)
        responses = [
            api.get("/v1/videos"),
            api.get(f"/v1/videos/{video.pk}"),
            api.get(f"/v1/videos/{video.pk}/content"),
            api.get("/v1/videos/video_nope"),
            api.post("/v1/videos", {}),
            Client().get("/v1/videos"),
            Client().get("/v1/openapi.json"),
            api.get("/v1/not/a/route"),
        ]
        ids = [response["x-request-id"] for response in responses]
        assert all(request_id.startswith("req_") for request_id in ids)
        assert len(set(ids)) == len(ids)


class TestNoRedirects:
    @pytest.mark.parametrize(
        "path",
        ["/v1/videos/", "/v1/videos/video_x/", "/v1/nope", "/v1/", "/v1/videos/a/b/c"],
    )
    def test_unknown_paths_answer_a_404_envelope_not_a_redirect(
        self, api: Client, path: str
    ) -> None:
        for method in ("get", "post", "delete"):
            response = getattr(api, method)(path)
            assert_error(response, 404, code="unknown_url")

    def test_other_methods_answer_405_with_allow(self, api: Client) -> None:
        response = api.put("/v1/videos")
        assert_error(response, 405)
        assert response["Allow"] == "GET, POST"
        assert_error(api.post("/v1/videos/video_x/content"), 405)


class TestAuthentication:
    def test_a_missing_key_answers_401_invalid_api_key(self, client: Client) -> None:
        for response in (
            client.get("/v1/videos"),
            client.post("/v1/videos", {"prompt": "p"}),
            client.get("/v1/videos/video_x"),
            client.post("/v1/videos/edits", {}),
            client.get("/v1/files/file-x"),
        ):
            assert_error(response, 401, code="invalid_api_key")

    def test_a_session_cookie_alone_is_not_an_api_credential(self, client_in: Client) -> None:
        assert_error(client_in.get("/v1/videos"), 401, code="invalid_api_key")
        assert_error(client_in.post("/v1/videos", {"prompt": "p"}), 401)
        assert not Video.objects.exists()

    def test_it_needs_no_csrf_token(self, api_key: Key) -> None:
        client = Client(enforce_csrf_checks=True, **api_key.headers)
        assert client.post("/v1/videos", {"prompt": "p"}).status_code == 200

    def test_the_openapi_document_needs_no_key(self, client: Client) -> None:
        response = client.get("/v1/openapi.json")
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.1")


class TestUnsupportedOperations:
    def test_remix_parses_and_authenticates_then_answers_a_clean_400(
        self, api: Client, user: User
    ) -> None:
        video = completed_video(user)
        response = api.post(
            f"/v1/videos/{video.pk}/remix",
            json.dumps({"prompt": "now at night"}),
            content_type="application/json",
        )
        error = assert_error(response, 400, code="unsupported_operation")
        assert "not supported by the studio's local renderer yet" in error["message"]
        assert_error(
            api.post(f"/v1/videos/{video.pk}/remix", {"prompt": "p", "seed": "1"}),
            400,
            code="unknown_parameter",
        )
        assert_error(api.post("/v1/videos/video_nope/remix", {"prompt": "p"}), 404)

    @pytest.mark.parametrize(
        ("path", "data"),
        [
            ("/v1/videos/edits", {"prompt": "p", "video[id]": "VIDEO"}),
            ("/v1/videos/extensions", {"prompt": "p", "seconds": "4", "video[id]": "VIDEO"}),
            ("/v1/videos/characters", {"name": "Mo", "video": b"\x00" * 10}),
        ],
    )
    def test_literal_segments_route_before_the_video_id(
        self, api: Client, user: User, path: str, data: dict[str, Any]
    ) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        video = completed_video(user)
        form = {
            key: SimpleUploadedFile("upload", value)
            if isinstance(value, bytes)
            else value.replace("VIDEO", video.pk)
            for key, value in data.items()
        }
        assert_error(api.post(path, form), 400, code="unsupported_operation")
        # The same call as JSON is parsed the same way.
        if "video[id]" in data:
            body = {k: v for k, v in form.items() if k != "video[id]"}
            body["video"] = {"id": video.pk}
            response = api.post(path, json.dumps(body), content_type="application/json")
            assert_error(response, 400, code="unsupported_operation")

    def test_edits_validate_their_input_first(self, api: Client) -> None:
        assert_error(api.post("/v1/videos/edits", {"prompt": "p"}), 400, param="video")
        assert_error(
            api.post("/v1/videos/edits", {"prompt": "p", "video[id]": "video_nope"}),
            404,
            param="video",
        )
        assert_error(
            api.post("/v1/videos/extensions", {"prompt": "p", "seconds": "5", "video[id]": "x"}),
            400,
            param="seconds",
        )

    def test_get_on_an_operation_path_is_not_read_as_a_video_id(self, api: Client) -> None:
        assert_error(api.get("/v1/videos/edits"), 405)
        assert_error(api.get("/v1/videos/characters"), 405)


class TestCharacters:
    def test_it_returns_a_visible_character(self, api: Client, user: User) -> None:
        from django.core.files.base import ContentFile

        from videos_app.models import Character

        character = Character(owner=user, name="Mo")
        character.clip.save("clip.mp4", ContentFile(b"x"), save=False)
        character.save()
        response = api.get(f"/v1/videos/characters/{character.pk}")
        assert response.status_code == 200
        assert response.json() == {
            "id": character.pk,
            "name": "Mo",
            "created_at": int(character.created_at.timestamp()),
        }

    def test_it_answers_404_for_an_unknown_character(self, api: Client) -> None:
        assert_error(api.get("/v1/videos/characters/char_nope"), 404)


class TestErrors:
    def test_an_unexpected_exception_answers_a_500_envelope(
        self, api: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from videos_app.api import objects

        def boom(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        make_video()
        monkeypatch.setattr(objects, "video_object", boom)
        response = api.get("/v1/videos")
        error = assert_error(response, 500)
        assert error["type"] == "server_error"
        assert "boom" not in error["message"]

    def test_a_broken_multipart_body_answers_400(self, api: Client) -> None:
        response = api.generic(
            "POST",
            "/v1/videos",
            b"--xyz\r\nContent-Disposition: form-data\r\n\r\n",
            content_type="multipart/form-data; boundary=xyz",
        )
        assert response.status_code == 400
        assert_error(response, 400)


class TestBracketKeys:
    def test_nested_keys_become_objects_and_arrays(self) -> None:
        nested = parsing.nest(
            [
                ("prompt", "p"),
                ("input_reference[file_id]", "file-1"),
                ("characters[][id]", "a"),
                ("characters[][id]", "b"),
                ("tags[]", "x"),
                ("tags[]", "y"),
            ]
        )
        assert nested == {
            "prompt": "p",
            "input_reference": {"file_id": "file-1"},
            "characters": [{"id": "a"}, {"id": "b"}],
            "tags": ["x", "y"],
        }

    def test_a_repeated_plain_key_becomes_a_list(self) -> None:
        assert parsing.nest([("prompt", "a"), ("prompt", "b")]) == {"prompt": ["a", "b"]}

    def test_a_repeated_prompt_is_refused_as_a_type_error(self, api: Client) -> None:
        assert_error(
            api.post("/v1/videos", {"prompt": ["a", "b"]}), 400, code="invalid_type", param="prompt"
        )
