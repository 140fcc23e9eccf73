"""Outbound webhooks: events about finished videos, signed and sent to users' endpoints.

When a job finishes (``signals.video_finished``) one event is made, with one delivery
row per endpoint that wants it (the video owner's endpoints, and staff endpoints marked
``all_videos``), in one transaction; each delivery is then sent by its own queue task,
never by the job's. A failed attempt is retried with capped exponential backoff and
jitter (RETRY_DELAYS) by a one-minute schedule (``tasks.webhooks_tick``); after
MAX_ATTEMPTS the delivery is failed, and a person can redeliver it from its endpoint's
page. Every attempt is claimed with a conditional update, so two workers never send the
same attempt.

Targets: an endpoint's host goes through the address guard (``api.addresses.pin``) at
every attempt, and the connection goes to the checked address. Private, loopback,
link-local and reserved addresses are refused unless the endpoint belongs to a staff user
or ``STUDIO_WEBHOOKS_ALLOW_PRIVATE`` is on (a studio on a private network delivering to
its neighbours).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from videos_app.api.addresses import AddressRefused, Resolver, Target, any_address, pin

from . import signing
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_TYPES = ("video.completed", "video.failed")
TIMEOUT_SECONDS = 10.0
# Delay after the 1st, 2nd, ... failed attempt; the attempt after the last one is final.
RETRY_DELAYS = (30, 120, 600, 3600, 6 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
# A claimed attempt whose worker died is sent again once this has passed.
CLAIM_LEASE = timedelta(seconds=TIMEOUT_SECONDS * 6)
ERROR_CHARS = 500
# Finished deliveries are kept this long for the history, then deleted by the tick.
KEEP_DELIVERIES = timedelta(days=30)
BODY_SNIPPET = 300


class TargetRefused(Exception):
    """The endpoint's URL may not be delivered to (the message is safe to show)."""


def private_targets_allowed(owner: AbstractBaseUser | AnonymousUser) -> bool:
    if getattr(owner, "is_staff", False):
        return True
    value = getattr(settings, "STUDIO_WEBHOOKS_ALLOW_PRIVATE", None)
    if value is None:
        value = os.environ.get("STUDIO_WEBHOOKS_ALLOW_PRIVATE", "")
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


# The guard's refusals, worded for someone registering an endpoint.
_REFUSALS = {
    "scheme": "The URL must start with https:// (or http://).",
    "port": "The URL has an invalid port.",
    "host": "The URL must name a host and carry no user name or password.",
    "unresolved": "The host '{host}' could not be resolved.",
    "private": "The URL points to a private, loopback or reserved address. Only staff can "
    "register such endpoints (or set STUDIO_WEBHOOKS_ALLOW_PRIVATE on the server).",
}


def target_check(url: str, *, private_ok: bool, resolver: Resolver | None = None) -> Target:
    """Where a delivery to ``url`` connects, or TargetRefused."""
    try:
        return pin(url, resolver=resolver, allowed=any_address if private_ok else None)
    except AddressRefused as exc:
        raise TargetRefused(_REFUSALS[exc.reason].format(host=exc.host)) from exc


# --- Events ---------------------------------------------------------------------------


def event_payload(
    *, event_id: str, event_type: str, video_id: str, created_at: int
) -> dict[str, Any]:
    """The body, shaped like OpenAI's own video webhooks."""
    return {
        "id": event_id,
        "object": "event",
        "created_at": created_at,
        "type": event_type,
        "data": {"id": video_id},
    }


def video_event_id(video_id: str, event_type: str) -> str:
    # One id per video and outcome: a finished-signal sent twice makes no second event.
    return "evt_" + hashlib.sha256(f"{video_id}:{event_type}".encode()).hexdigest()[:32]


def endpoints_for_video(*, owner_id: int, event_type: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(active=True).filter(
        Q(owner_id=owner_id) | Q(all_videos=True, owner__is_staff=True, owner__is_active=True)
    )
    return [e for e in endpoints if not e.events or event_type in e.events]


def video_event_create(*, video_id: str, status: str) -> list[WebhookDelivery]:
    """One event for a finished video, a delivery per endpoint that wants it (queued)."""
    from videos_app.models import Video  # models imports this package's models

    event_type = {"completed": "video.completed", "failed": "video.failed"}.get(status)
    if event_type is None:
        return []
    video = Video.objects.filter(pk=video_id).only("id", "owner_id").first()
    if video is None:
        return []
    event_id = video_event_id(video.pk, event_type)
    now = timezone.now()
    payload = event_payload(
        event_id=event_id, event_type=event_type, video_id=video.pk, created_at=int(now.timestamp())
    )
    with transaction.atomic():
        endpoints = endpoints_for_video(owner_id=video.owner_id, event_type=event_type)
        if not endpoints:
            return []
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=event_type,
                    video_id=video.pk,
                    payload=payload,
                    next_attempt_at=now,
                )
                for endpoint in endpoints
            ],
            ignore_conflicts=True,  # the same event again: already there
        )
        deliveries = list(
            WebhookDelivery.objects.filter(
                event_id=event_id, endpoint__in=endpoints, attempts=0, status="pending"
            )
        )
        for delivery in deliveries:
            _enqueue_on_commit(delivery.pk)
    return deliveries


def test_event_create(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``video.completed`` event sent only to ``endpoint``, for trying a receiver.

    Its ``data.id`` is the owner's latest completed video when there is one (so the
    receiver's real path can run end to end), else ``video_test``; the body says
    ``"test": true`` so a receiver can tell it from the real event of that video. The
    delivery row has no ``video_id``: that is how the history tells it apart."""
    from videos_app.models import Video

    latest = (
        Video.objects.filter(owner_id=endpoint.owner_id, status=Video.Status.COMPLETED)
        .order_by("-created_at")
        .values_list("id", flat=True)
        .first()
    )
    now = timezone.now()
    event_id = f"evt_{secrets.token_hex(16)}"
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=event_id,
            event_type="video.completed",
            video_id="",
            payload=event_payload(
                event_id=event_id,
                event_type="video.completed",
                video_id=latest or "video_test",
                created_at=int(now.timestamp()),
            )
            | {"test": True},
            next_attempt_at=now,
        )
        _enqueue_on_commit(delivery.pk)
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery) -> bool:
    """Send a finished delivery again as a fresh series of attempts (same event id, so a
    receiver that already handled it can tell). False if it is still pending."""
    with transaction.atomic():
        changed = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.SUCCEEDED],
        ).update(
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            delivered_at=None,
        )
        if changed:
            _enqueue_on_commit(delivery.pk)
    return bool(changed)


def _enqueue_on_commit(delivery_id: int) -> None:
    transaction.on_commit(
        lambda: async_task(
            "videos_app.webhooks.tasks.deliver_webhook",
            delivery_id,
            task_name=f"webhook {delivery_id}",
            group="webhooks",
            cluster=settings.HOUSEKEEPING_QUEUE,
        )
    )


# --- Delivery -------------------------------------------------------------------------


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
    base = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def delivery_attempt(
    *,
    delivery_id: int,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
) -> WebhookDelivery | None:
    """Send one due attempt of a delivery and record its outcome.

    None when there was nothing to send: not found, not pending, not yet due, the
    endpoint disabled, or another worker claimed this attempt first."""
    now = now or timezone.now()
    row = WebhookDelivery.objects.select_related("endpoint__owner").filter(pk=delivery_id).first()
    if (
        row is None
        or row.status != WebhookDelivery.Status.PENDING
        or not row.endpoint.active
        or (row.next_attempt_at is not None and row.next_attempt_at > now)
    ):
        return None
    if not delivery_claim(delivery=row, now=now):
        return None
    attempt = row.attempts + 1

    status_code, error = _send(row, now=now, client=client, resolver=resolver)
    fields: dict[str, Any] = {"last_status_code": status_code, "last_error": error[:ERROR_CHARS]}
    if status_code is not None and 200 <= status_code < 300:
        fields |= {
            "status": WebhookDelivery.Status.SUCCEEDED,
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": "",
        }
    elif attempt >= MAX_ATTEMPTS:
        fields |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=retry_delay(attempt))
    # Only the holder of this attempt records it (a worker past its lease does not).
    WebhookDelivery.objects.filter(pk=row.pk, attempts=attempt).update(**fields)
    row.refresh_from_db()
    return row


def delivery_claim(*, delivery: WebhookDelivery, now: datetime) -> bool:
    """Take the next attempt of ``delivery`` as it was read; False when another worker
    has taken an attempt since (the update matches only the attempt count that was read).
    The claim holds for CLAIM_LEASE; a worker that dies holding it is retried after."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
        ).update(
            attempts=delivery.attempts + 1, last_attempt_at=now, next_attempt_at=now + CLAIM_LEASE
        )
    )


def _send(
    delivery: WebhookDelivery,
    *,
    now: datetime,
    client: httpx.Client | None,
    resolver: Resolver | None,
) -> tuple[int | None, str]:
    endpoint = delivery.endpoint
    try:
        target = target_check(
            endpoint.url,
            private_ok=private_targets_allowed(endpoint.owner),
            resolver=resolver,
        )
    except TargetRefused as exc:
        return None, str(exc)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    try:
        signed = signing.sign_headers(endpoint.secret, delivery.event_id, body, now=now.timestamp())
    except ValueError:
        return None, "The endpoint's signing secret is not valid base64: rotate it."
    headers = {
        **signed,
        "Content-Type": "application/json",
        "User-Agent": "studio-webhooks/1",
        "Host": target.host_header,
    }
    own_client = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(TIMEOUT_SECONDS),
        follow_redirects=False,  # a redirect is an answer (not 2xx), never followed
        trust_env=False,  # no proxy from the environment: the checked address is the peer
    )
    try:
        request = http.build_request(
            "POST", target.url, content=body, headers=headers, extensions=target.extensions
        )
        response = http.send(request, stream=True)
        try:
            snippet = _read_snippet(response)
        finally:
            response.close()
    except httpx.TimeoutException:
        return None, f"No answer within {TIMEOUT_SECONDS:g} s."
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        if own_client:
            http.close()
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}" + (
        f": {snippet}" if snippet else ""
    )


def _read_snippet(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes(1024):
        data += chunk
        if len(data) >= BODY_SNIPPET:
            break
    return data[:BODY_SNIPPET].decode("utf-8", "replace").strip()


def deliveries_send_due(
    *,
    now: datetime | None = None,
    budget_seconds: float = 40.0,
    limit: int = 200,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
) -> int:
    """Send every delivery that is due (oldest first) within a time budget; how many
    attempts were made. Run each minute by the schedule."""
    now = now or timezone.now()
    deadline = time.monotonic() + budget_seconds
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            endpoint__active=True,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for delivery_id in due:
        if time.monotonic() > deadline:
            break
        if delivery_attempt(delivery_id=delivery_id, now=now, client=client, resolver=resolver):
            sent += 1
    return sent


def deliveries_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_DELIVERIES
    deleted, _ = WebhookDelivery.objects.filter(
        created_at__lt=cutoff,
        status__in=[WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED],
    ).delete()
    return deleted


def on_video_finished(sender: object, *, video_id: str, status: str, **kwargs: object) -> None:
    """Receiver of ``signals.video_finished``: a failure here must never fail the job."""
    try:
        video_event_create(video_id=video_id, status=status)
    except Exception:
        logger.exception("Could not create webhook events for %s", video_id)
