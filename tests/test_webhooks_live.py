"""Webhooks out on a running studio: gunicorn + the django-q2 worker deliver a signed
``video.completed`` to a receiver on loopback as soon as a real render finishes."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from tests.live import LiveStudio, live_studio
from tests.test_live import create_video, wait_until_done

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(tmp_path_factory.mktemp("webhooks-studio"))


@pytest.fixture
def received() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


def wait_for(got: list[Any], count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} deliveries arrived"
        time.sleep(0.2)


def test_a_finished_render_and_a_test_event_reach_the_receiver_signed(
    studio: LiveStudio, received: tuple[str, list[tuple[dict[str, str], bytes]]], tmp_path: Path
) -> None:
    url, got = received
    client = studio.client()  # the admin: staff may use a loopback endpoint
    response = client.post("/account/webhooks/", data={"url": url, "events": ["video.completed"]})
    assert response.status_code == 302, response.text[:1000]
    page = client.get(response.headers["location"]).text
    secret = html.unescape(re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', page).group(1))  # type: ignore[union-attr]

    started = time.monotonic()
    video_id = create_video(client)
    wait_until_done(client, video_id)
    wait_for(got, 1)
    print(f"render + delivery: {time.monotonic() - started:.1f} s")
    sdk = OpenAI(api_key="x")
    headers, body = got[0]
    event = sdk.webhooks.unwrap(body, headers, secret=secret)
    assert (event.type, event.data.id) == ("video.completed", video_id)
    assert headers["webhook-id"] == event.id

    client.post(response.headers["location"] + "test")
    wait_for(got, 2)
    test_event = sdk.webhooks.unwrap(got[1][1], got[1][0], secret=secret)
    assert test_event.id != event.id and test_event.data.id == video_id
    history = client.get(response.headers["location"]).text
    assert history.count("delivered") >= 2 and "HTTP 204" in history
    assert json.loads(body)["object"] == "event"
