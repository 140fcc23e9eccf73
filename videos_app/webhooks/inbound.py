"""Inbound webhooks: an upstream provider tells us one of its jobs finished.

``POST /webhooks/providers/<provider name>`` takes a Standard Webhooks message signed with
the secret in the provider's ``webhook_secret_env`` variable, or, for an engine with its
own scheme (its ``webhook`` method: fal's Ed25519 over keys it publishes, OpenRouter's
HMAC, ...), whatever that engine verifies. A provider without a secret
configured takes none (404): an unsigned message is never acted on. A valid
``video.completed`` / ``video.failed`` for one of our jobs wakes the job waiting to poll
its upstream and queues its task again (claiming is conditional, so a busy worker keeps
it, and a job whose worker died moves too). The row for a ``webhook-id`` is inserted
before anything is done, so a replay, or two copies arriving at once, act once.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from videos_app import services
from videos_app.jobs import wake
from videos_app.models import Provider, Video
from videos_app.providers import catalog
from videos_app.providers.base import WebhookEvent, WebhookRefused

from . import signing
from .models import InboundWebhook

logger = logging.getLogger(__name__)

JOB_EVENTS = ("video.completed", "video.failed")
# Beyond the signature's tolerance a replay fails the timestamp check: no need for more.
KEEP_IDS = timedelta(days=1)


def _error(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}},
        status=status,
    )


def provider_secret(provider: Provider) -> str:
    if not provider.webhook_secret_env:
        return ""
    return os.environ.get(provider.webhook_secret_env, "").strip()


def _engine_of(provider: Provider) -> Any:
    """The provider's engine (None when it cannot be built): its ``webhook`` method, if
    any, verifies the vendor's own scheme; without one Standard Webhooks are expected."""
    try:
        return catalog.get_provider(provider.name)
    except LookupError:
        return None


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, name: str) -> JsonResponse:
    provider = Provider.objects.filter(name=name).first()
    secret = provider_secret(provider) if provider else ""
    engine = _engine_of(provider) if provider else None
    reader = getattr(engine, "webhook", None)
    try:
        # A vendor's own scheme may need no shared secret (fal signs with keys it
        # publishes: the row names where).
        accepts = provider is not None and (
            secret or (callable(reader) and (provider.options or {}).get("webhook_jwks_url"))
        )
        if provider is None or not accepts:
            return _error(404, f"No provider named '{name}' accepts webhooks here.", "not_found")
        if callable(reader):
            return _vendor_webhook(provider, reader, request, secret)
    finally:
        if callable(close := getattr(engine, "close", None)):
            close()
    body = request.body
    try:
        webhook_id = signing.verify(secret, request.headers, body)
    except signing.SignatureError as exc:
        return _error(400, str(exc), "invalid_signature")
    except ValueError:
        logger.error("The webhook secret of provider %s is not valid whsec_ base64", name)
        return _error(500, "This provider's webhook secret is misconfigured.", "server_error")
    try:
        event = json.loads(body)
        event_type = str(event["type"])
        data = event.get("data") or {}
        job_id = str(data.get("id") or "") if isinstance(data, dict) else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return _error(400, "The body is not a JSON event with a 'type'.", "invalid_json")
    outcome = inbound_webhook_receive(
        provider=provider.name, webhook_id=webhook_id, event_type=event_type, job_id=job_id
    )
    return JsonResponse({"received": True, "outcome": outcome})


def _vendor_webhook(
    provider: Provider, reader: Any, request: HttpRequest, secret: str
) -> JsonResponse:
    """A webhook in the vendor's own scheme, verified by its engine."""
    try:
        event: WebhookEvent | None = reader(request.headers, request.body, secret)
    except WebhookRefused as exc:
        return _error(400, str(exc) or "The signature does not verify.", "invalid_signature")
    if event is None:
        return JsonResponse({"received": True, "outcome": "ignored"})
    outcome = inbound_webhook_receive(
        provider=provider.name,
        webhook_id=event.webhook_id,
        event_type=event.event_type if event.final else f"{event.event_type} (not final)",
        job_id=event.job_id,
        final=event.final,
    )
    return JsonResponse({"received": True, "outcome": outcome})


def inbound_webhook_receive(
    *, provider: str, webhook_id: str, event_type: str, job_id: str, final: bool | None = None
) -> str:
    """Act on one verified message once; what was done, in a word. ``final``: the vendor
    says the job ended (None: read from a Standard Webhooks event type)."""
    try:
        with transaction.atomic():
            InboundWebhook.objects.create(
                webhook_id=webhook_id[:200], provider=provider, event_type=event_type[:64]
            )
    except IntegrityError:
        logger.info("Ignored replayed webhook %s from %s", webhook_id, provider)
        return "duplicate"
    if not (final if final is not None else event_type in JOB_EVENTS):
        return "ignored"
    video = _video_of(provider, job_id) if job_id else None
    if video is None:
        logger.warning("Webhook %s from %s names unknown job %r", webhook_id, provider, job_id)
        return "unknown_video"
    if video.status not in Video.ACTIVE_STATUSES:
        return "already_finished"
    wake.wake(video.pk)
    services.video_enqueue(video_id=video.pk)
    return "woken"


def _video_of(provider: str, job_id: str) -> Video | None:
    """The video whose job ``job_id`` is: by its id, or, for an engine whose ids carry a
    prefix the vendor's webhook does not name (fal's ``app|request``), among the running
    jobs by the id's last part."""
    videos = Video.objects.filter(provider=provider).only("id", "status")
    video = videos.filter(provider_job_id=job_id).first()
    if video is None and "|" not in job_id:
        video = videos.filter(
            status__in=Video.ACTIVE_STATUSES, provider_job_id__endswith=f"|{job_id}"
        ).first()
    return video


def inbound_webhooks_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_IDS
    deleted, _ = InboundWebhook.objects.filter(received_at__lt=cutoff).delete()
    return deleted
