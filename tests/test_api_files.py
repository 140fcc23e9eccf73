"""/v1/files: upload an image, retrieve it, delete it, and use it as input_reference."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api_helpers import (  # noqa: F401  (fixtures)
    api_fixture,
    api_key_fixture,
    assert_error,
    make_key,
)
from tests.conftest import stored_files
from tests.factories import image_bytes, make_user
from videos_app.api.models import ApiFile
from videos_app.models import Video

pytestmark = pytest.mark.django_db

FILE_KEYS = {
    "id",
    "object",
    "bytes",
    "created_at",
    "expires_at",
    "filename",
    "purpose",
    "status",
    "status_details",
}


def upload(api: Client, data: bytes, name: str = "frame.png", **extra: Any) -> Any:
    return api.post(
        "/v1/files", {"file": SimpleUploadedFile(name, data), "purpose": "vision", **extra}
    )


class TestFiles:
    def test_it_stores_an_uploaded_image(self, api: Client, user: User) -> None:
        data = image_bytes(720, 1280, "WEBP")
        response = upload(api, data, "frame.webp")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FILE_KEYS
        assert body["id"].startswith("file-")
        assert body["object"] == "file"
        assert body["bytes"] == len(data)
        assert body["filename"] == "frame.webp"
        assert body["purpose"] == "vision"
        assert body["expires_at"] is None
        api_file = ApiFile.objects.get()
        assert api_file.owner == user
        assert api_file.content.read() == data
        assert "frame.webp" not in api_file.content.name  # the client's name is never a path

    def test_it_refuses_anything_but_an_image(self, api: Client) -> None:
        assert_error(upload(api, b"%PDF-1.7 ..."), 400, param="file", code="invalid_file")
        assert_error(upload(api, b""), 400, param="file")
        assert not ApiFile.objects.exists()
        assert stored_files() == []

    def test_it_checks_purpose_and_the_file_part(self, api: Client) -> None:
        response = api.post(
            "/v1/files",
            {"file": SimpleUploadedFile("a.png", image_bytes(8, 8)), "purpose": "fine-tune"},
        )
        assert_error(response, 400, param="purpose", code="invalid_value")
        assert_error(api.post("/v1/files", {"purpose": "vision"}), 400, param="file")
        response = api.post("/v1/files", {"file": "text", "purpose": "vision"})
        assert_error(response, 400, param="file", code="invalid_type")

    def test_it_sets_an_expiry_and_hides_expired_files(self, api: Client) -> None:
        response = upload(
            api,
            image_bytes(8, 8),
            **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"},
        )
        body = response.json()
        assert body["expires_at"] == body["created_at"] + 3600
        ApiFile.objects.update(expires_at=ApiFile.objects.get().created_at - timedelta(1))
        assert_error(api.get(f"/v1/files/{body['id']}"), 404)
        response = upload(
            api,
            image_bytes(8, 8),
            **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "5"},
        )
        assert_error(response, 400, param="expires_after.seconds")

    def test_it_retrieves_and_deletes_a_file(
        self, api: Client, django_capture_on_commit_callbacks: Any
    ) -> None:
        file_id = upload(api, image_bytes(8, 8)).json()["id"]
        response = api.get(f"/v1/files/{file_id}")
        assert response.status_code == 200
        assert response.json()["id"] == file_id
        with django_capture_on_commit_callbacks(execute=True):
            response = api.delete(f"/v1/files/{file_id}", content_type="application/json")
        assert response.json() == {"id": file_id, "object": "file", "deleted": True}
        assert stored_files() == []
        assert_error(api.get(f"/v1/files/{file_id}"), 404)
        assert_error(api.delete(f"/v1/files/{file_id}"), 404)

    def test_files_are_private_to_their_owner(self, api: Client) -> None:
        other = Client(**make_key(make_user()).headers)
        file_id = upload(other, image_bytes(8, 8)).json()["id"]
        assert_error(api.get(f"/v1/files/{file_id}"), 404)
        assert_error(api.delete(f"/v1/files/{file_id}"), 404)
        response = api.post(
            "/v1/videos",
            json.dumps({"prompt": "p", "input_reference": {"file_id": file_id}}),
            content_type="application/json",
        )
        assert_error(response, 400, param="input_reference")


class TestFileAsReference:
    def test_a_file_id_works_as_bracket_keys_and_as_json(self, api: Client) -> None:
        file_id = upload(api, image_bytes(1280, 720, "JPEG")).json()["id"]
        response = api.post(
            "/v1/videos",
            {"prompt": "p", "size": "1280x720", "input_reference[file_id]": file_id},
        )
        assert response.status_code == 200, response.content
        response = api.post(
            "/v1/videos",
            json.dumps(
                {"prompt": "p", "size": "1280x720", "input_reference": {"file_id": file_id}}
            ),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        videos = Video.objects.all()
        assert len(videos) == 2
        for video in videos:
            assert video.reference_image.read()[:4] == b"\x89PNG"

    def test_the_file_must_match_the_videos_size(self, api: Client) -> None:
        file_id = upload(api, image_bytes(720, 1280)).json()["id"]
        response = api.post(
            "/v1/videos",
            {"prompt": "p", "size": "1280x720", "input_reference[file_id]": file_id},
        )
        assert_error(response, 400, param="input_reference", code="image_size_mismatch")

    def test_a_file_whose_stored_content_is_gone_is_a_400_like_a_deleted_one(
        self, api: Client
    ) -> None:
        file_id = upload(api, image_bytes(1280, 720, "JPEG")).json()["id"]
        stored = ApiFile.objects.get(pk=file_id).content
        stored.storage.delete(stored.name)
        response = api.post(
            "/v1/videos",
            {"prompt": "p", "size": "1280x720", "input_reference[file_id]": file_id},
        )
        assert_error(response, 400, param="input_reference", code="invalid_value")
        assert not Video.objects.exists()

    def test_an_unknown_file_id_is_a_400_on_input_reference(self, api: Client) -> None:
        response = api.post("/v1/videos", {"prompt": "p", "input_reference[file_id]": "file-x"})
        assert_error(response, 400, param="input_reference")
