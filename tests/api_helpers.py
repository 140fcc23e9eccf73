"""Fixtures and helpers for the /v1 API tests.

A test module imports the fixtures it uses by their function names (``api_fixture``
provides ``api``), so the parameter names do not shadow the imports.

Also a URLconf (``urlpatterns``) for ``@pytest.mark.urls("tests.api_helpers")``: the site's
own routes plus the API keys settings page, for as long as studio/urls.py lacks it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from openai import OpenAI

from studio.urls import urlpatterns as site_urlpatterns
from tests.factories import (
    make_user,
    make_video,
    mp4_bytes,  # noqa: F401  (re-exported for the API tests)
)
from videos_app.api.keys import api_key_create
from videos_app.models import ApiKey, Video

urlpatterns = [path("", include("videos_app.accounts.urls")), *site_urlpatterns]


@dataclass
class Key:
    row: ApiKey
    raw: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw}"}


def make_key(user: User, name: str = "tests") -> Key:
    row, raw = api_key_create(user=user, name=name)
    return Key(row=row, raw=raw)


@pytest.fixture(name="api_key")
def api_key_fixture(user: User) -> Key:
    return make_key(user)


@pytest.fixture(name="api")
def api_fixture(api_key: Key) -> Client:
    """A test client that sends the user's API key (and no session)."""
    return Client(**api_key.headers)


def sdk(live_server: Any, raw_key: str, **kwargs: Any) -> OpenAI:
    """The official SDK pointed at a live studio, strict about every response's shape."""
    return OpenAI(
        base_url=live_server.url + "/v1",
        api_key=raw_key,
        max_retries=0,
        _strict_response_validation=True,
        **kwargs,
    )


@pytest.fixture(name="owner")
def owner_fixture(transactional_db: None) -> User:
    """The user behind the SDK's key (live_server tests need committed rows)."""
    return make_user("sdk")  # type: ignore[return-value]


@pytest.fixture(name="key")
def key_fixture(owner: User) -> Key:
    return make_key(owner)


@pytest.fixture(name="client")
def sdk_client_fixture(live_server: Any, key: Key) -> Iterator[OpenAI]:
    """The SDK with the owner's key (shadows pytest-django's test client)."""
    with sdk(live_server, key.raw) as client:
        yield client


def assert_error(
    response: Any, status: int, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The response is the error envelope, with all four keys, and a request id."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert response["x-request-id"].startswith("req_")
    body = response.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


def completed_video(owner: User, **kwargs: Any) -> Video:
    """A finished video with small stand-in asset files in storage."""
    video = make_video(owner, **kwargs)
    assets = {
        "video_file": ("video.mp4", b"\x00\x00\x00\x18ftypmp42" + b"m" * 1000),
        "thumbnail_file": ("thumbnail.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"t" * 100),
        "spritesheet_file": ("spritesheet.jpg", b"\xff\xd8\xff\xe0" + b"s" * 300),
    }
    for field_name, (filename, data) in assets.items():
        name = default_storage.save(f"videos/{video.pk}/{filename}", ContentFile(data))
        setattr(video, field_name, name)
    video.status = Video.Status.COMPLETED
    video.progress = 100
    video.completed_at = timezone.now()
    video.save()
    return video


@dataclass
class Canary:
    """A real HTTP server on loopback that records every request it gets."""

    url: str
    requests: list[str] = field(default_factory=list)
    body: bytes = b""
    redirect_to: str = ""


@pytest.fixture(name="canary")
def canary_fixture() -> Iterator[Canary]:
    yield from _serve("127.0.0.1")


@pytest.fixture(name="canary2")
def canary2_fixture() -> Iterator[Canary]:
    """A second canary on another loopback address (redirect targets)."""
    yield from _serve("127.0.0.2")


def _serve(host: str) -> Iterator[Canary]:
    state = Canary(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    state.url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
