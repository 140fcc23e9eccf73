"""Wire rules that hold for every /v1 response: ids, envelopes, no redirects, no CSRF."""

from __future__ import annotations

import io
import json
from typing import Any

import av
import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Key,
    api_fixture,
    api_key_fixture,
    assert_error,
    completed_video,
    mp4_bytes,
)
from tests.factories import image_bytes, make_video
from videos_app.api import parsing
from videos_app.models import Video

pytestmark = pytest.mark.django_db


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


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


def mkv_bytes() -> bytes:
    """A real H.264 video in a Matroska container."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(8):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def clip_upload(data: bytes | None = None) -> SimpleUploadedFile:
    """A file part as the SDK sends bytes: filename "upload", application/octet-stream."""
    return SimpleUploadedFile(
        "upload", data if data is not None else mp4_bytes(), "application/octet-stream"
    )


class TestOperations:
    """Remix, edits, extensions and characters on the wire, in both encodings."""

    def test_remix_takes_json_or_a_form_and_records_its_source(
        self, api: Client, user: User
    ) -> None:
        video = completed_video(user, size="1280x720", seconds=8)
        for response in (
            post_json(api, f"/v1/videos/{video.pk}/remix", {"prompt": "now at night"}),
            api.post(f"/v1/videos/{video.pk}/remix", {"prompt": "now at night"}),
        ):
            assert response.status_code == 200, response.content
            body = response.json()
            assert (body["status"], body["seconds"], body["size"]) == ("queued", "8", "1280x720")
            assert body["remixed_from_video_id"] == video.pk

    def test_remix_refuses_unknown_params_unknown_sources_and_unfinished_ones(
        self, api: Client, user: User
    ) -> None:
        video = completed_video(user)
        error = assert_error(
            api.post(f"/v1/videos/{video.pk}/remix", {"prompt": "p", "seed": "1"}),
            400,
            code="unknown_parameter",
            param="seed",
        )
        assert error["message"] == "Unknown parameter: 'seed'."
        assert_error(api.post("/v1/videos/video_nope/remix", {"prompt": "p"}), 404)
        running = make_video(user, status=Video.Status.IN_PROGRESS)
        assert_error(
            post_json(api, f"/v1/videos/{running.pk}/remix", {"prompt": "p"}),
            400,
            code="video_not_completed",
        )

    @pytest.mark.parametrize(
        ("path", "fields", "seconds"),
        [
            ("/v1/videos/edits", {"prompt": "mirror"}, "8"),
            ("/v1/videos/extensions", {"prompt": "p", "seconds": "4"}, "12"),
        ],
    )
    def test_a_source_id_arrives_as_a_bracket_key_or_as_json(
        self, api: Client, user: User, path: str, fields: dict[str, str], seconds: str
    ) -> None:
        video = completed_video(user, size="1280x720", seconds=8)
        for response in (
            api.post(path, {**fields, "video[id]": video.pk}),
            post_json(api, path, {**fields, "video": {"id": video.pk}}),
        ):
            assert response.status_code == 200, response.content
            body = response.json()
            assert (body["status"], body["seconds"], body["size"]) == (
                "queued",
                seconds,
                "1280x720",
            )
            assert Video.objects.get(pk=body["id"]).source == video

    @pytest.mark.parametrize(
        ("path", "fields"),
        [
            ("/v1/videos/edits", {"prompt": "mirror"}),
            ("/v1/videos/extensions", {"prompt": "p", "seconds": "4"}),
        ],
    )
    def test_an_uploaded_source_is_decided_by_its_content(
        self, api: Client, path: str, fields: dict[str, str]
    ) -> None:
        # A real MP4, whatever its part's name and type say.
        part = SimpleUploadedFile("notes.txt", mp4_bytes(), "text/plain")
        response = api.post(path, {**fields, "video": part})
        assert response.status_code == 200, response.content
        assert Video.objects.get(pk=response.json()["id"]).source_upload
        # Not a video, whatever its name and type say: a clean 400 naming the field.
        part = SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"x" * 100, "video/mp4")
        error = assert_error(api.post(path, {**fields, "video": part}), 400, param="video")
        assert "not an MP4 video that can be decoded" in error["message"]
        assert Video.objects.count() == 1

    @pytest.mark.parametrize(
        ("path", "data"),
        [
            ("/v1/videos/edits", {"prompt": "p", "video[id]": "VIDEO", "width": "1"}),
            (
                "/v1/videos/extensions",
                {"prompt": "p", "seconds": "4", "video[id]": "VIDEO", "width": "1"},
            ),
            ("/v1/videos/characters", {"name": "Mo", "video": "UPLOAD", "width": "1"}),
        ],
    )
    def test_unknown_params_are_refused_in_both_encodings(
        self, api: Client, user: User, path: str, data: dict[str, str]
    ) -> None:
        video = completed_video(user)
        form: dict[str, Any] = {
            key: clip_upload() if value == "UPLOAD" else value.replace("VIDEO", video.pk)
            for key, value in data.items()
        }
        error = assert_error(api.post(path, form), 400, code="unknown_parameter", param="width")
        assert error["message"] == "Unknown parameter: 'width'."
        body = {key: value for key, value in form.items() if key not in ("video", "video[id]")}
        body["video"] = {"id": video.pk}
        assert_error(post_json(api, path, body), 400, code="unknown_parameter", param="width")
        body["video"] = {"id": video.pk, "url": "x"}
        body.pop("width")
        assert_error(post_json(api, path, body), 400, param="video.url")
        assert Video.objects.count() == 1

    def test_extension_seconds_must_be_a_string(self, api: Client, user: User) -> None:
        video = completed_video(user)
        body = {"prompt": "p", "seconds": 4, "video": {"id": video.pk}}
        error = assert_error(
            post_json(api, "/v1/videos/extensions", body), 400, code="invalid_type", param="seconds"
        )
        assert error["message"].startswith("Invalid type for 'seconds': expected one of '2', '3'")
        assert error["message"].endswith("but got an integer instead.")
        body["seconds"] = "5"
        assert_error(
            post_json(api, "/v1/videos/extensions", body),
            400,
            code="invalid_value",
            param="seconds",
        )
        del body["seconds"]
        assert_error(
            post_json(api, "/v1/videos/extensions", body),
            400,
            code="missing_required_parameter",
            param="seconds",
        )

    def test_a_source_must_be_one_id_or_one_upload(self, api: Client, user: User) -> None:
        video = completed_video(user)
        cases = [
            ({"prompt": "p"}, "missing_required_parameter"),
            ({"prompt": "p", "video": "video_x"}, "invalid_type"),  # an id needs video[id]
            ({"prompt": "p", "video[id]": video.pk, "video": clip_upload()}, "invalid_type"),
        ]
        for data, code in cases:
            assert_error(api.post("/v1/videos/edits", data), 400, code=code, param="video")
        assert_error(
            post_json(api, "/v1/videos/edits", {"prompt": "p", "video": "video_x"}),
            400,
            code="invalid_type",
            param="video",
        )
        assert_error(
            api.post("/v1/videos/edits", {"prompt": "p", "video[id]": "video_nope"}),
            404,
            param="video",
        )

    @pytest.mark.parametrize("path", ["/v1/videos/edits", "/v1/videos/extensions"])
    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"Example data",
            mp4_bytes()[:2000],  # a real MP4, cut short
            image_bytes(320, 240, "PNG"),
            mkv_bytes(),  # a real video, but not an MP4
        ],
        ids=["empty", "placeholder", "truncated", "png", "matroska"],
    )
    def test_an_upload_that_is_not_an_mp4_is_a_clean_400(
        self, api: Client, path: str, data: bytes
    ) -> None:
        fields = {"prompt": "p", "seconds": "4"} if path.endswith("extensions") else {"prompt": "p"}
        assert_error(api.post(path, {**fields, "video": clip_upload(data)}), 400, param="video")
        character = {"name": "Mo", "video": clip_upload(data)}
        assert_error(api.post("/v1/videos/characters", character), 400, param="video")
        assert not Video.objects.exists()

    def test_a_character_needs_an_uploaded_clip(self, api: Client, user: User) -> None:
        response = api.post("/v1/videos/characters", {"name": "Mo", "video": clip_upload()})
        assert response.status_code == 200, response.content
        assert set(response.json()) == {"id", "name", "created_at"}
        video = completed_video(user)
        for response in (
            api.post("/v1/videos/characters", {"name": "Mo", "video[id]": video.pk}),
            post_json(api, "/v1/videos/characters", {"name": "Mo", "video": {"id": video.pk}}),
        ):
            assert_error(response, 400, code="invalid_value", param="video")
        assert_error(
            api.post("/v1/videos/characters", {"name": "Mo", "video": clip_upload(b"\x00" * 10)}),
            400,
            param="video",
        )

    def test_get_on_an_operation_path_is_not_read_as_a_video_id(self, api: Client) -> None:
        assert_error(api.get("/v1/videos/edits"), 405)
        assert_error(api.get("/v1/videos/extensions"), 405)
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
        self, api: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from videos_app.api import objects

        def boom(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        make_video(user)  # one the key sees, so the list builds a video object
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

    def test_a_multipart_body_cut_off_before_its_closing_boundary_answers_400(
        self, api: Client
    ) -> None:
        whole = (
            b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nA calm sea\r\n'
            b'--xyz\r\nContent-Disposition: form-data; name="seconds"\r\n\r\n4\r\n--xyz--\r\n'
        )
        cut = whole[: whole.index(b"--xyz--")]
        response = api.generic(
            "POST", "/v1/videos", cut, content_type="multipart/form-data; boundary=xyz"
        )
        error = assert_error(response, 400, code="invalid_multipart")
        assert "closing boundary" in error["message"]
        assert not Video.objects.exists()
        response = api.generic(
            "POST", "/v1/videos", whole, content_type="multipart/form-data; boundary=xyz"
        )
        assert response.status_code == 200, response.content  # the whole body is accepted

    def test_a_key_nested_thousands_deep_is_refused_quickly(self, api: Client) -> None:
        from urllib.parse import urlencode

        key = "input_reference" + "[a]" * 5000
        body = urlencode({"prompt": "p", key: "x"})
        response = api.generic(
            "POST", "/v1/videos", body, content_type="application/x-www-form-urlencoded"
        )
        error = assert_error(response, 400, code="invalid_parameter")
        assert "nests more than 8 levels" in error["message"]
        assert len(error["message"]) < 200
        # In multipart too (a key short enough for Django's part-header limit).
        response = api.post("/v1/videos", {"prompt": "p", "input_reference" + "[a]" * 20: "x"})
        assert_error(response, 400, code="invalid_parameter")
        assert not Video.objects.exists()

    def test_only_the_first_refusal_is_answered_in_field_order(self, api: Client) -> None:
        # At each level an unknown key comes first, then the fields in the contract's order.
        body = {"prompt": "p", "model": "nope", "width": 1}
        assert_error(post_json(api, "/v1/videos", body), 400, param="width")
        body = {"prompt": 5, "input_reference": {"width": 1}}
        assert_error(post_json(api, "/v1/videos", body), 400, param="prompt")
        body = {"prompt": "p", "characters": [{"id": "a"}, {"id": 5, "x": 1}]}
        assert_error(post_json(api, "/v1/videos", body), 400, param="characters[1].x")
        body = {"prompt": "p", "characters": [{"id": "a"}, {"id": 5}]}
        error = assert_error(post_json(api, "/v1/videos", body), 400, code="invalid_type")
        assert error["message"] == (
            "Invalid type for 'characters[1].id': expected a string, but got an integer instead."
        )


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


def test_the_bare_base_url_answers_the_envelope_not_html(client: Client) -> None:
    response = client.get("/v1", HTTP_AUTHORIZATION="Bearer sk-studio-nope-nope")
    assert response.status_code in (401, 404)
    assert response["Content-Type"] == "application/json"
    assert "x-request-id" in response
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
