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

import httpx
import pytest
from openai import OpenAI

from tests.live import LiveStudio, live_studio
from tests.test_live import create_video, wait_until_done
from videos_app.webhooks import signing
from videos_app.webhooks.models import new_webhook_secret

pytestmark = pytest.mark.live


GATEWAY_SECRET = new_webhook_secret()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    yield from live_studio(
        tmp_path_factory.mktemp("webhooks-studio"), STUDIO_TEST_GATEWAY_WHSEC=GATEWAY_SECRET
    )


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


def test_a_provider_webhook_through_gunicorn_is_verified_and_acted_on_once(
    studio: LiveStudio,
) -> None:
    studio.manage(
        "shell",
        "-c",
        "from videos_app.models import Provider, Video; "
        "from django.contrib.auth import get_user_model; "
        "Provider.objects.create(name='gateway', kind='openai_compatible', "
        "base_url='http://127.0.0.1:9/v1', webhook_secret_env='STUDIO_TEST_GATEWAY_WHSEC', "
        "enabled=False); "
        "Video.objects.create(owner=get_user_model().objects.get(username='admin'), "
        "prompt='upstream', provider='gateway', provider_job_id='video_up_1', "
        "status='in_progress')",
    )
    body = json.dumps(
        {
            "id": "evt_up",
            "object": "event",
            "created_at": int(time.time()),
            "type": "video.completed",
            "data": {"id": "video_up_1"},
        }
    ).encode()
    headers = signing.sign_headers(GATEWAY_SECRET, "msg_live_1", body)
    anonymous = httpx.Client(base_url=studio.url, timeout=30)  # no session, no CSRF token
    first = anonymous.post("/webhooks/providers/gateway", content=body, headers=headers)
    again = anonymous.post("/webhooks/providers/gateway", content=body, headers=headers)
    tampered = anonymous.post(
        "/webhooks/providers/gateway", content=body.replace(b"up_1", b"up_2"), headers=headers
    )
    assert (first.status_code, first.json()["outcome"]) == (200, "woken"), first.text[:500]
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert tampered.status_code == 400
    assert tampered.json()["error"]["code"] == "invalid_signature"


def test_a_test_event_is_sent_at_once_while_renders_fill_the_queue(
    studio: LiveStudio, received: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, got = received
    client = studio.client()
    response = client.post("/account/webhooks/", data={"url": url, "events": ["video.completed"]})
    assert response.status_code == 302, response.text[:1000]
    endpoint = response.headers["location"]
    for i in range(10):  # ten long renders: both render workers busy, the rest waiting
        create_video(client, seconds="20", size="1792x1024", prompt=f"slow zoom, take {i}")
    started = time.monotonic()
    client.post(endpoint + "test")
    wait_for(got, 1, timeout=8)  # the housekeeping queue does not wait behind them
    print(f"test event delivered {time.monotonic() - started:.1f} s after it was asked for")
    assert json.loads(got[0][1])["type"] == "video.completed"
