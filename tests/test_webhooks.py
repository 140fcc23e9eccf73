"""Webhooks in and out: Standard Webhooks signatures (valid, tampered, stale, replayed),
the inbound endpoint that wakes an upstream job, outbound deliveries to a real receiver on
loopback with retries and backoff, and the settings pages."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from openai import InvalidWebhookSignatureError, OpenAI

from tests.factories import make_user, make_video
from videos_app import services
from videos_app.jobs import dispatch, wake
from videos_app.jobs.signals import video_finished
from videos_app.models import Provider, Video
from videos_app.providers.base import Assets, JobSpec, ProgressCallback, ProviderError
from videos_app.tasks import render_video
from videos_app.webhooks import outbound, signing
from videos_app.webhooks import tasks as webhook_tasks
from videos_app.webhooks.models import (
    InboundWebhook,
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)
from videos_app.webhooks.tasks import webhooks_tick

pytestmark = pytest.mark.django_db

SECRET_ENV = "STUDIO_TEST_GATEWAY_WHSEC"


# --- A real receiver on loopback ------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers, in order; then 200
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status = state.statuses.pop(0) if state.statuses else 200
            payload = b"receiver says no" if status >= 300 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/studio"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def deny_private(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.delenv("STUDIO_WEBHOOKS_ALLOW_PRIVATE", raising=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finish(capture: Any, video: Video, status: str = "completed") -> None:
    """What videos_app.jobs does when a job ends, with the on-commit hooks (the queue) run."""
    with capture(execute=True):
        video_finished.send(sender=Video, video_id=video.pk, status=status)


# --- Signing --------------------------------------------------------------------------


class TestSigning:
    def test_new_secrets_are_whsec_and_32_bytes_of_standard_base64(self) -> None:
        secret = new_webhook_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == 32
        assert new_webhook_secret() != secret

    def test_a_signed_message_verifies_and_gives_its_id(self) -> None:
        secret = new_webhook_secret()
        body = b'{"type":"video.completed"}'
        headers = signing.sign_headers(secret, "msg_1", body)
        assert signing.verify(secret, headers, body) == "msg_1"

    @pytest.mark.parametrize(
        "change",
        [
            pytest.param({"body": b'{"type":"video.failed"}'}, id="tampered-body"),
            pytest.param({"webhook-id": "msg_2"}, id="other-id"),
            pytest.param({"secret": new_webhook_secret()}, id="wrong-secret"),
            pytest.param({"webhook-signature": "v1,AAAA"}, id="garbage-signature"),
            pytest.param({"webhook-signature": ""}, id="missing-signature"),
        ],
    )
    def test_a_changed_message_does_not_verify(self, change: dict[str, Any]) -> None:
        secret = new_webhook_secret()
        body = b'{"type":"video.completed"}'
        headers = signing.sign_headers(secret, "msg_1", body)
        headers.update({k: v for k, v in change.items() if k.startswith("webhook-")})
        with pytest.raises(signing.SignatureError):
            signing.verify(change.get("secret", secret), headers, change.get("body", body))

    def test_the_timestamp_must_be_within_five_minutes_either_way(self) -> None:
        secret = new_webhook_secret()
        now = time.time()
        for offset in (-301, 301):
            headers = signing.sign_headers(secret, "msg_1", b"{}", now=now + offset)
            with pytest.raises(signing.SignatureError, match="too"):
                signing.verify(secret, headers, b"{}", now=now)
        for offset in (-299, 299):
            headers = signing.sign_headers(secret, "msg_1", b"{}", now=now + offset)
            assert signing.verify(secret, headers, b"{}", now=now) == "msg_1"

    def test_one_matching_signature_among_several_is_enough(self) -> None:
        old, new = new_webhook_secret(), new_webhook_secret()
        headers = signing.sign_headers(new, "msg_1", b"{}")
        sig_old = signing.signature(old, "msg_1", headers["webhook-timestamp"], b"{}")
        headers["webhook-signature"] = f"{sig_old} {headers['webhook-signature']}"
        assert signing.verify(old, headers, b"{}") == "msg_1"
        assert signing.verify(new, headers, b"{}") == "msg_1"

    def test_the_official_sdk_accepts_our_signatures_and_we_accept_its_format(self) -> None:
        secret = new_webhook_secret()
        body = json.dumps(
            {
                "id": "evt_1",
                "object": "event",
                "created_at": 1,
                "type": "video.completed",
                "data": {"id": "video_1"},
            }
        )
        headers = signing.sign_headers(secret, "evt_1", body.encode())
        OpenAI(api_key="x").webhooks.verify_signature(body, headers, secret=secret)
        tampered = body.replace("video_1", "video_2")
        with pytest.raises(InvalidWebhookSignatureError):
            OpenAI(api_key="x").webhooks.verify_signature(tampered, headers, secret=secret)
        # A plain (non-whsec) secret is used as its UTF-8 bytes, as the SDK does.
        headers = signing.sign_headers("plain-secret", "evt_1", body.encode())
        OpenAI(api_key="x").webhooks.verify_signature(body, headers, secret="plain-secret")


# --- Inbound --------------------------------------------------------------------------


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> tuple[Provider, str]:
    secret = new_webhook_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    provider = Provider.objects.create(
        name="gateway",
        kind="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        webhook_secret_env=SECRET_ENV,
    )
    return provider, secret


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(services, "video_enqueue", lambda *, video_id: calls.append(video_id))
    return calls


def upstream_job(**kwargs: Any) -> Video:
    kwargs.setdefault("status", Video.Status.IN_PROGRESS)
    return make_video(provider="gateway", provider_job_id="video_up_123", **kwargs)


def provider_event(
    secret: str,
    *,
    event_type: str = "video.completed",
    job_id: str = "video_up_123",
    webhook_id: str = "msg_abc",
    at: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": "evt_up",
            "object": "event",
            "created_at": int(time.time()),
            "type": event_type,
            "data": {"id": job_id},
        }
    ).encode()
    return body, signing.sign_headers(secret, webhook_id, body, now=at)


def post_event(body: bytes, headers: dict[str, str], name: str = "gateway") -> Any:
    # CSRF checks on: the endpoint must be exempt (providers hold no cookie).
    client = Client(enforce_csrf_checks=True)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(
        reverse("provider_webhook", args=[name]), body, content_type="application/json", **extra
    )


def woken(video: Video) -> bool:
    return wake.wait(video.pk, 0)


class TestInbound:
    def test_a_valid_completion_wakes_and_enqueues_the_job(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        video = upstream_job()
        response = post_event(*provider_event(gateway[1]))
        assert response.status_code == 200, response.content
        assert response.json() == {"received": True, "outcome": "woken"}
        assert enqueued == [video.pk]
        assert woken(video)
        assert InboundWebhook.objects.get().webhook_id == "msg_abc"

    def test_a_failure_event_wakes_the_job_too(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        video = upstream_job(status=Video.Status.QUEUED)
        response = post_event(*provider_event(gateway[1], event_type="video.failed"))
        assert response.json()["outcome"] == "woken" and enqueued == [video.pk]

    def test_a_replayed_id_is_answered_200_and_ignored(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        video = upstream_job()
        body, headers = provider_event(gateway[1])
        assert post_event(body, headers).json()["outcome"] == "woken"
        assert woken(video)  # consumes the flag
        # The same message again, and the same id re-signed a second later.
        again = post_event(body, headers)
        resigned = post_event(*provider_event(gateway[1], at=time.time() + 1))
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
        assert (resigned.status_code, resigned.json()["outcome"]) == (200, "duplicate")
        assert enqueued == [video.pk]
        assert not woken(video)
        assert InboundWebhook.objects.count() == 1

    @pytest.mark.parametrize(
        "case", ["tampered", "wrong-secret", "too-old", "too-new", "missing-headers", "no-v1"]
    )
    def test_a_bad_signature_is_refused_with_400_and_changes_nothing(
        self, case: str, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        video = upstream_job()
        secret = gateway[1]
        body, headers = provider_event(secret)
        if case == "tampered":
            body = body.replace(b"video_up_123", b"video_up_999")
        elif case == "wrong-secret":
            body, headers = provider_event(new_webhook_secret())
        elif case == "too-old":
            body, headers = provider_event(secret, at=time.time() - 301)
        elif case == "too-new":
            body, headers = provider_event(secret, at=time.time() + 301)
        elif case == "missing-headers":
            headers = {"webhook-id": headers["webhook-id"]}
        elif case == "no-v1":
            headers["webhook-signature"] = headers["webhook-signature"].removeprefix("v1,")
        response = post_event(body, headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_signature"
        assert response.json()["error"]["message"]
        assert enqueued == [] and not woken(video)
        assert not InboundWebhook.objects.exists()

    def test_an_unknown_provider_or_one_without_a_secret_is_404(
        self, gateway: tuple[Provider, str], enqueued: list[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body, headers = provider_event(gateway[1])
        assert post_event(body, headers, name="nobody").status_code == 404
        Provider.objects.create(name="nosecret", kind="openai_compatible")
        assert post_event(body, headers, name="nosecret").status_code == 404
        monkeypatch.setenv(SECRET_ENV, "")  # configured, but the variable is empty
        assert post_event(body, headers).status_code == 404
        assert enqueued == [] and not InboundWebhook.objects.exists()

    def test_an_unknown_job_or_another_event_type_is_200_and_ignored(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        upstream_job()
        unknown = post_event(*provider_event(gateway[1], job_id="video_up_nope", webhook_id="m1"))
        other = post_event(
            *provider_event(gateway[1], event_type="batch.completed", webhook_id="m2")
        )
        assert (unknown.status_code, unknown.json()["outcome"]) == (200, "unknown_video")
        assert (other.status_code, other.json()["outcome"]) == (200, "ignored")
        assert enqueued == []

    def test_a_job_of_another_provider_with_the_same_upstream_id_is_not_touched(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        make_video(provider="elsewhere", provider_job_id="video_up_123", status="in_progress")
        assert post_event(*provider_event(gateway[1])).json()["outcome"] == "unknown_video"
        assert enqueued == []

    def test_a_finished_job_is_not_queued_again(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        upstream_job(status=Video.Status.COMPLETED)
        assert post_event(*provider_event(gateway[1])).json()["outcome"] == "already_finished"
        assert enqueued == []

    def test_a_signed_body_that_is_not_an_event_is_400(
        self, gateway: tuple[Provider, str], enqueued: list[str]
    ) -> None:
        body = b"not json"
        response = post_event(body, signing.sign_headers(gateway[1], "m1", body))
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"

    def test_only_post_is_accepted(self, gateway: tuple[Provider, str]) -> None:
        assert Client().get(reverse("provider_webhook", args=["gateway"])).status_code == 405

    def test_old_ids_are_pruned_by_the_tick(self, gateway: tuple[Provider, str]) -> None:
        InboundWebhook.objects.create(webhook_id="old", provider="gateway", event_type="x")
        InboundWebhook.objects.create(webhook_id="new", provider="gateway", event_type="x")
        InboundWebhook.objects.filter(webhook_id="old").update(
            received_at=timezone.now() - timedelta(days=1, minutes=1)
        )
        webhooks_tick()
        assert list(InboundWebhook.objects.values_list("webhook_id", flat=True)) == ["new"]


# --- Outbound -------------------------------------------------------------------------


def endpoint_for(owner: Any, url: str, **kwargs: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(owner=owner, url=url, **kwargs)


@pytest.mark.usefixtures("allow_private", "sync_queue")
class TestOutbound:
    def test_a_completion_is_delivered_signed_and_the_sdk_unwraps_it(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        owner = make_user()
        endpoint = endpoint_for(owner, receiver.url)
        video = make_video(owner, status=Video.Status.COMPLETED)
        finish(django_capture_on_commit_callbacks, video)

        assert len(receiver.requests) == 1
        got = receiver.requests[0]
        assert got.path == "/hooks/studio"
        assert got.headers["content-type"] == "application/json"
        client = OpenAI(api_key="x")
        client.webhooks.verify_signature(got.body, got.headers, secret=endpoint.secret)
        event = client.webhooks.unwrap(got.body, got.headers, secret=endpoint.secret)
        assert (event.type, event.data.id, event.object) == ("video.completed", video.pk, "event")
        assert event.id == got.headers["webhook-id"] and event.id.startswith("evt_")
        assert abs(event.created_at - time.time()) < 60
        with pytest.raises(InvalidWebhookSignatureError):
            client.webhooks.verify_signature(got.body, got.headers, secret=new_webhook_secret())
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "succeeded",
            1,
            200,
        )
        assert delivery.delivered_at is not None and delivery.next_attempt_at is None

    def test_events_go_to_the_owners_and_to_staff_all_video_endpoints_only(
        self, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sent: list[int] = []
        # The queued task is what would send: record instead (the targets don't exist).
        monkeypatch.setattr(
            webhook_tasks, "delivery_attempt", lambda *, delivery_id, **kw: sent.append(delivery_id)
        )
        owner, other = make_user(), make_user()
        staff = make_user(is_staff=True)
        mine = endpoint_for(owner, "http://127.0.0.1:1/a")
        mine_failed_only = endpoint_for(owner, "http://127.0.0.1:1/b", events=["video.failed"])
        endpoint_for(owner, "http://127.0.0.1:1/c", active=False)
        endpoint_for(other, "http://127.0.0.1:1/d")
        endpoint_for(other, "http://127.0.0.1:1/e", all_videos=True)  # not staff: ignored
        staff_all = endpoint_for(staff, "http://127.0.0.1:1/f", all_videos=True)
        endpoint_for(staff, "http://127.0.0.1:1/g")  # staff, but only their own videos
        video = make_video(owner, status=Video.Status.COMPLETED)

        with django_capture_on_commit_callbacks(execute=True):
            video_finished.send(sender=Video, video_id=video.pk, status="completed")
        deliveries = WebhookDelivery.objects.filter(video_id=video.pk)
        assert {d.endpoint_id for d in deliveries} == {mine.pk, staff_all.pk}
        assert len({d.event_id for d in deliveries}) == 1  # one event, two deliveries
        assert sorted(sent) == sorted(d.pk for d in deliveries)

        # The same signal again (a job's at-least-once end) makes no second event.
        finish(django_capture_on_commit_callbacks, video)
        assert WebhookDelivery.objects.filter(video_id=video.pk).count() == 2

        failed = make_video(owner, status=Video.Status.FAILED)
        finish(django_capture_on_commit_callbacks, failed, "failed")
        assert {d.endpoint_id for d in WebhookDelivery.objects.filter(video_id=failed.pk)} == {
            mine.pk,
            mine_failed_only.pk,
            staff_all.pk,
        }
        assert {d.event_type for d in WebhookDelivery.objects.filter(video_id=failed.pk)} == {
            "video.failed"
        }

    def test_a_failed_job_sends_video_failed_through_the_real_pipeline(
        self,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        class Failing:
            name = "local"

            def run(self, spec: JobSpec, *, workdir: Path, on_progress: ProgressCallback) -> Assets:
                raise ProviderError("render_timeout", "Took too long.")

        monkeypatch.setattr(dispatch, "get_provider", lambda name: Failing())
        owner = make_user()
        endpoint_for(owner, receiver.url)
        video = make_video(owner)
        with django_capture_on_commit_callbacks(execute=True):
            render_video(video.pk)
        video.refresh_from_db()
        assert video.status == Video.Status.FAILED
        assert [json.loads(r.body)["type"] for r in receiver.requests] == ["video.failed"]
        assert json.loads(receiver.requests[0].body)["data"] == {"id": video.pk}

    def test_a_500_is_retried_with_backoff_and_then_delivered(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver.statuses = [500]
        owner = make_user()
        endpoint_for(owner, receiver.url)
        video = make_video(owner, status=Video.Status.COMPLETED)
        start = timezone.now()
        finish(django_capture_on_commit_callbacks, video)

        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "pending",
            1,
            500,
        )
        assert "HTTP 500" in delivery.last_error and "receiver says no" in delivery.last_error
        wait = (delivery.next_attempt_at - start).total_seconds()
        assert 27 - 1 <= wait <= 33 + 5  # 30 s, give or take the 10% jitter

        assert outbound.deliveries_send_due(now=start + timedelta(seconds=20)) == 0
        assert len(receiver.requests) == 1
        later = start + timedelta(seconds=40)
        assert outbound.deliveries_send_due(now=later) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "succeeded",
            2,
            200,
        )
        assert delivery.last_error == "" and delivery.delivered_at == later
        first, second = receiver.requests
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event_id
        assert first.body == second.body
        assert int(second.headers["webhook-timestamp"]) == int(later.timestamp())
        # Delivered: nothing more is sent, however late.
        assert outbound.deliveries_send_due(now=later + timedelta(days=1)) == 0
        assert len(receiver.requests) == 2

    def test_backoff_grows_then_the_delivery_fails_after_six_attempts(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver.statuses = [503] * 10
        owner = make_user()
        endpoint_for(owner, receiver.url)
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        delivery = WebhookDelivery.objects.get()
        waits = []
        for _ in range(outbound.MAX_ATTEMPTS - 1):
            assert delivery.status == "pending" and delivery.next_attempt_at
            waits.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
            assert outbound.deliveries_send_due(now=delivery.next_attempt_at) == 1
            delivery.refresh_from_db()
        for got, base in zip(waits, outbound.RETRY_DELAYS, strict=True):
            assert base * 0.9 - 1 <= got <= base * 1.1 + 1
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 6, None)
        assert len(receiver.requests) == 6
        assert outbound.deliveries_send_due(now=timezone.now() + timedelta(days=30)) == 0

    def test_a_refused_connection_is_recorded_and_retried(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        owner = make_user()
        endpoint_for(owner, f"http://127.0.0.1:{closed_port()}/hook")
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "pending",
            1,
            None,
        )
        assert "ConnectError" in delivery.last_error
        assert delivery.next_attempt_at > timezone.now()

    def test_a_redirect_is_not_followed_and_counts_as_a_failure(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver.statuses = [302]
        owner = make_user()
        endpoint_for(owner, receiver.url)
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_status_code, len(receiver.requests)) == (
            "pending",
            302,
            1,
        )

    def test_an_attempt_is_sent_once_even_when_asked_twice(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver.statuses = [500]
        owner = make_user()
        endpoint_for(owner, receiver.url)
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        delivery = WebhookDelivery.objects.get()
        # The queued task and the minute's sweep both asking for the same attempt.
        assert outbound.delivery_attempt(delivery_id=delivery.pk) is None
        assert outbound.deliveries_send_due() == 0
        # A worker that claimed an attempt and died: sent again once its lease is over.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=2, next_attempt_at=timezone.now() + outbound.CLAIM_LEASE
        )
        assert outbound.deliveries_send_due() == 0
        after_lease = timezone.now() + outbound.CLAIM_LEASE + timedelta(seconds=1)
        assert outbound.deliveries_send_due(now=after_lease) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("succeeded", 3, 2)

    def test_of_two_workers_that_read_the_same_due_attempt_only_one_claims_it(self) -> None:
        endpoint = endpoint_for(make_user(), "http://127.0.0.1:9/hook")
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="video.completed",
            payload={},
            next_attempt_at=timezone.now(),
        )
        seen_by_a, seen_by_b = WebhookDelivery.objects.get(), WebhookDelivery.objects.get()
        now = timezone.now()
        assert outbound.delivery_claim(delivery=seen_by_a, now=now) is True
        assert outbound.delivery_claim(delivery=seen_by_b, now=now) is False
        claimed = WebhookDelivery.objects.get()
        assert (claimed.attempts, claimed.next_attempt_at) == (1, now + outbound.CLAIM_LEASE)

    def test_a_disabled_endpoint_gets_nothing(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver.statuses = [500]
        owner = make_user()
        endpoint = endpoint_for(owner, receiver.url)
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
        assert outbound.deliveries_send_due(now=timezone.now() + timedelta(hours=1)) == 0
        assert len(receiver.requests) == 1

    def test_the_tick_deletes_finished_deliveries_after_30_days_but_never_pending_ones(
        self,
    ) -> None:
        endpoint = endpoint_for(make_user(), "http://127.0.0.1:9/hook")
        for status in ("succeeded", "failed", "pending"):
            for age in (31, 29):
                row = WebhookDelivery.objects.create(
                    endpoint=endpoint, event_type=status, payload={}, status=status,
                    next_attempt_at=timezone.now() + timedelta(days=1),
                )  # fmt: skip
                WebhookDelivery.objects.filter(pk=row.pk).update(
                    created_at=timezone.now() - timedelta(days=age)
                )
        webhooks_tick()
        left = WebhookDelivery.objects.values_list("event_type", "created_at")
        assert sorted(t for t, _ in left) == ["failed", "pending", "pending", "succeeded"]

    def test_the_schedule_that_sends_retries_is_installed(self) -> None:
        schedule = Schedule.objects.get(func="videos_app.webhooks.tasks.webhooks_tick")
        assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


class TestPrivateAddressPolicy:
    @pytest.mark.usefixtures("deny_private")
    def test_a_user_cannot_register_a_private_or_loopback_url(self, client_in: Client) -> None:
        for url in (
            "http://127.0.0.1:8000/hook",
            "http://10.1.2.3/hook",
            "http://[::1]/x",
            "http://169.254.169.254/",
        ):
            response = client_in.post(reverse("webhooks"), {"url": url})
            assert response.status_code == 400, url
            assert "private, loopback or reserved" in response.content.decode()
        assert not WebhookEndpoint.objects.exists()

    @pytest.mark.usefixtures("deny_private")
    def test_a_public_address_is_accepted(self, client_in: Client, user: Any) -> None:
        response = client_in.post(reverse("webhooks"), {"url": "https://93.184.216.34/hook"})
        assert response.status_code == 302
        assert WebhookEndpoint.objects.get().owner == user

    @pytest.mark.usefixtures("deny_private")
    def test_staff_may_register_a_private_url(self) -> None:
        client = Client()
        client.force_login(make_user(is_staff=True))
        response = client.post(reverse("webhooks"), {"url": "http://10.1.2.3/hook"})
        assert response.status_code == 302

    def test_the_setting_allows_private_urls_for_everyone(
        self, client_in: Client, allow_private: None
    ) -> None:
        response = client_in.post(reverse("webhooks"), {"url": "http://10.1.2.3/hook"})
        assert response.status_code == 302

    @pytest.mark.usefixtures("deny_private", "sync_queue")
    def test_a_delivery_to_a_private_address_is_refused_without_connecting(
        self, receiver: Receiver, django_capture_on_commit_callbacks: Any
    ) -> None:
        owner = make_user()
        endpoint_for(owner, receiver.url)  # registered while the policy allowed it
        finish(django_capture_on_commit_callbacks, make_video(owner, status="completed"))
        delivery = WebhookDelivery.objects.get()
        assert receiver.requests == []
        assert "private, loopback or reserved" in delivery.last_error

    @pytest.mark.usefixtures("deny_private")
    def test_a_name_is_checked_by_every_address_it_resolves_to(self) -> None:
        def resolver(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "10.0.0.1"]

        with pytest.raises(outbound.TargetRefused):
            outbound.target_check("https://hooks.example/x", private_ok=False, resolver=resolver)
        target = outbound.target_check(
            "https://hooks.example:8443/x?a=1",
            private_ok=False,
            resolver=lambda h, p: ["93.184.216.34"],
        )
        assert target.url == "https://93.184.216.34:8443/x?a=1"
        assert (target.host_header, target.sni_hostname) == ("hooks.example:8443", "hooks.example")


# --- Pages ----------------------------------------------------------------------------


@pytest.mark.usefixtures("allow_private")
class TestPages:
    def test_signed_out_visitors_are_sent_to_log_in(self) -> None:
        response = Client().get(reverse("webhooks"))
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_the_page_lists_only_my_endpoints_and_is_linked_from_the_nav(
        self, client_in: Client, user: Any
    ) -> None:
        endpoint_for(user, "https://mine.example/hook", description="my notifier")
        endpoint_for(make_user(), "https://theirs.example/hook")
        page = client_in.get(reverse("webhooks")).content.decode()
        assert "https://mine.example/hook" in page and "my notifier" in page
        assert "theirs.example" not in page
        assert f'href="{reverse("webhooks")}"' in page
        assert "all_videos" not in page  # staff only

    def test_adding_an_endpoint_stores_its_events_and_shows_the_secret(
        self, client_in: Client, user: Any
    ) -> None:
        response = client_in.post(
            reverse("webhooks"),
            {
                "url": "http://127.0.0.1:9/hook",
                "description": "ci",
                "events": ["video.failed"],
                "all_videos": "on",
            },
        )
        endpoint = WebhookEndpoint.objects.get()
        assert response["Location"] == reverse("webhook_endpoint", args=[endpoint.pk])
        assert (endpoint.owner, endpoint.events, endpoint.all_videos) == (
            user,
            ["video.failed"],
            False,
        )
        page = client_in.get(response["Location"])
        assert endpoint.secret in page.content.decode()
        assert page["Cache-Control"] == "no-store"

    def test_staff_can_ask_for_every_video(self) -> None:
        staff = make_user(is_staff=True)
        client = Client()
        client.force_login(staff)
        assert "all_videos" in client.get(reverse("webhooks")).content.decode()
        client.post(reverse("webhooks"), {"url": "http://127.0.0.1:9/hook", "all_videos": "on"})
        assert WebhookEndpoint.objects.get().all_videos is True

    @pytest.mark.parametrize(
        "url", ["", "ftp://example.com/x", "not a url", "http://user:pw@93.184.216.34/"]
    )
    def test_a_bad_url_is_refused_and_nothing_is_stored(self, client_in: Client, url: str) -> None:
        response = client_in.post(reverse("webhooks"), {"url": url, "events": ["video.done"]})
        assert response.status_code == 400
        assert 'class="error"' in response.content.decode()
        assert not WebhookEndpoint.objects.exists()

    def test_edit_rotate_toggle_and_delete(self, client_in: Client, user: Any) -> None:
        endpoint = endpoint_for(user, "http://127.0.0.1:9/hook")
        old_secret = endpoint.secret
        client_in.post(
            reverse("webhook_endpoint", args=[endpoint.pk]),
            {"url": "http://127.0.0.1:9/new", "events": ["video.completed"]},
        )
        endpoint.refresh_from_db()
        assert (endpoint.url, endpoint.events) == ("http://127.0.0.1:9/new", ["video.completed"])
        client_in.post(reverse("webhook_endpoint_rotate", args=[endpoint.pk]))
        endpoint.refresh_from_db()
        assert endpoint.secret != old_secret and endpoint.secret.startswith("whsec_")
        client_in.post(reverse("webhook_endpoint_toggle", args=[endpoint.pk]))
        endpoint.refresh_from_db()
        assert endpoint.active is False
        response = client_in.post(reverse("webhook_endpoint_delete", args=[endpoint.pk]))
        assert response["Location"] == reverse("webhooks")
        assert not WebhookEndpoint.objects.exists()

    def test_another_users_endpoint_is_404_everywhere_and_unchanged(
        self, client_in: Client
    ) -> None:
        theirs = endpoint_for(make_user(), "http://127.0.0.1:9/hook")
        delivery = WebhookDelivery.objects.create(
            endpoint=theirs, event_type="video.completed", payload={}, status="failed", attempts=6
        )
        assert client_in.get(reverse("webhook_endpoint", args=[theirs.pk])).status_code == 404
        for name in (
            "webhook_endpoint",
            "webhook_endpoint_rotate",
            "webhook_endpoint_toggle",
            "webhook_endpoint_test",
            "webhook_endpoint_delete",
        ):
            assert (
                client_in.post(
                    reverse(name, args=[theirs.pk]), {"url": "http://127.0.0.1:9/x"}
                ).status_code
                == 404
            ), name
        redeliver = reverse("webhook_redeliver", args=[theirs.pk, delivery.pk])
        assert client_in.post(redeliver).status_code == 404
        after = WebhookEndpoint.objects.get(pk=theirs.pk)
        assert (after.url, after.secret, after.active) == (theirs.url, theirs.secret, True)
        assert WebhookDelivery.objects.get().status == "failed"
        assert WebhookDelivery.objects.count() == 1

    def test_even_staff_see_only_their_own_endpoints_here(self) -> None:
        theirs = endpoint_for(make_user(), "http://127.0.0.1:9/hook")
        client = Client()
        client.force_login(make_user(is_staff=True))
        assert client.get(reverse("webhook_endpoint", args=[theirs.pk])).status_code == 404

    @pytest.mark.usefixtures("sync_queue")
    def test_the_history_shows_attempts_and_a_failed_one_can_be_redelivered(
        self,
        client_in: Client,
        user: Any,
        receiver: Receiver,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        receiver.statuses = [500] * outbound.MAX_ATTEMPTS
        endpoint = endpoint_for(user, receiver.url)
        video = make_video(user, status="completed")
        finish(django_capture_on_commit_callbacks, video)
        page = client_in.get(reverse("webhook_endpoint", args=[endpoint.pk])).content.decode()
        assert video.pk in page and "video.completed" in page
        assert f"1 / {outbound.MAX_ATTEMPTS}" in page and "HTTP 500" in page and "pending" in page
        assert "Redeliver" not in page

        delivery = WebhookDelivery.objects.get()
        while delivery.status == "pending":
            outbound.deliveries_send_due(now=delivery.next_attempt_at)
            delivery.refresh_from_db()
        page = client_in.get(reverse("webhook_endpoint", args=[endpoint.pk])).content.decode()
        assert f"6 / {outbound.MAX_ATTEMPTS}" in page and "failed" in page and "Redeliver" in page

        with django_capture_on_commit_callbacks(execute=True):
            client_in.post(reverse("webhook_redeliver", args=[endpoint.pk, delivery.pk]))
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("succeeded", 1)
        assert len(receiver.requests) == 7
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1

    @pytest.mark.usefixtures("sync_queue")
    def test_a_test_event_reaches_the_receiver_and_verifies(
        self,
        client_in: Client,
        user: Any,
        receiver: Receiver,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        endpoint = endpoint_for(user, receiver.url)
        latest = make_video(user, status="completed")
        with django_capture_on_commit_callbacks(execute=True):
            response = client_in.post(reverse("webhook_endpoint_test", args=[endpoint.pk]))
        assert response.status_code == 302
        got = receiver.requests[0]
        event = OpenAI(api_key="x").webhooks.unwrap(got.body, got.headers, secret=endpoint.secret)
        assert (event.type, event.data.id) == ("video.completed", latest.pk)
        assert json.loads(got.body)["test"] is True  # told apart from the real event
        page = client_in.get(reverse("webhook_endpoint", args=[endpoint.pk])).content.decode()
        assert "test event" in page and "delivered" in page


class TestAdmin:
    def test_the_admin_lists_load_and_never_show_a_secret(self) -> None:
        client = Client()
        client.force_login(make_user("root", is_staff=True, is_superuser=True))
        endpoint = endpoint_for(make_user(), "http://127.0.0.1:9/hook")
        WebhookDelivery.objects.create(endpoint=endpoint, event_type="video.completed", payload={})
        InboundWebhook.objects.create(
            webhook_id="m1", provider="gateway", event_type="video.completed"
        )
        for name in ("webhookendpoint", "webhookdelivery", "inboundwebhook"):
            response = client.get(reverse(f"admin:videos_app_{name}_changelist"))
            assert response.status_code == 200, name
            assert endpoint.secret not in response.content.decode()
        change = client.get(reverse("admin:videos_app_webhookendpoint_change", args=[endpoint.pk]))
        assert change.status_code == 200 and endpoint.secret not in change.content.decode()


def test_wake_flag_is_cleared_between_tests() -> None:
    # Guards the inbound tests' use of the cache (each test has its own store).
    assert cache.get("studio:wake:video_none") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("allow_private")
def test_two_workers_asking_for_the_same_attempt_at_once_send_it_once(
    receiver: Receiver,
) -> None:
    """The queued task and the minute's sweep racing, in two threads with their own
    connections: the conditional claim lets one of them send."""
    from django.db import connection

    if connection.vendor == "sqlite":
        # The in-memory test database's shared cache answers "table is locked" to a
        # second writer instead of waiting (the studio's own SQLite file waits on
        # busy_timeout); the PostgreSQL pass runs this, and the claim itself is
        # checked on every database by the two-readers test above.
        pytest.skip("needs a database that lets two connections wait on each other")
    owner = make_user()
    endpoint = endpoint_for(owner, receiver.url)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="video.completed",
        payload={"id": "evt_x"},
        next_attempt_at=timezone.now(),
    )
    barrier = threading.Barrier(4)
    results: list[object] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(outbound.delivery_attempt(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(r is not None for r in results) == 1
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


@pytest.mark.usefixtures("allow_private")
def test_an_endpoint_with_a_broken_secret_records_why_and_sends_nothing(receiver: Receiver) -> None:
    endpoint = endpoint_for(make_user(), receiver.url, secret="whsec_abc")  # bad padding
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="video.completed", payload={}, next_attempt_at=timezone.now()
    )
    outbound.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == [] and "rotate it" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_makes_a_waiting_upstream_job_poll_at_once(
    monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path, enqueued: list[str]
) -> None:
    """The whole inbound path against the real upstream pipeline: the fake upstream says
    "come back in 30 s"; its webhook, posted while the job sleeps, ends the wait."""
    from django.db import connection

    from tests.fake_upstream import FakeUpstream
    from videos_app.jobs import remote

    secret = new_webhook_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    monkeypatch.setenv("STUDIO_TEST_UPSTREAM_KEY", "sk-up-key-0123456789")
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 1.0)
    settings.DATA_DIR = tmp_path
    with FakeUpstream(api_key="sk-up-key-0123456789", render_seconds=1.5) as up:
        up.faults.poll_after_ms = 30_000
        Provider.objects.create(
            name="gateway",
            kind="openai_compatible",
            base_url=up.base_url,
            api_key_env="STUDIO_TEST_UPSTREAM_KEY",
            webhook_secret_env=SECRET_ENV,
            timeout_seconds=5,
            connect_timeout_seconds=1,
        )
        video = make_video(provider="gateway", provider_model="up-model-1", seconds=8)
        answers: list[Any] = []

        def provider_calls_back() -> None:
            try:
                job_id = Video.objects.get(pk=video.pk).provider_job_id
                answers.append(post_event(*provider_event(secret, job_id=job_id)))
            finally:
                connection.close()

        timer = threading.Timer(2.5, provider_calls_back)
        timer.start()
        start = time.monotonic()
        render_video(video.pk)
        elapsed = time.monotonic() - start
        timer.join()
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert answers[0].json()["outcome"] == "woken", answers[0].content
    assert enqueued == [video.pk]
    # Polled at 1 s ("30 s more"), woken at 2.5 s: done long before the 31 s poll.
    assert elapsed < 8, elapsed
    assert up.calls["retrieve"] == 2
