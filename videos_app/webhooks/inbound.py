"""Inbound webhooks: an upstream provider tells us one of its jobs finished.

``POST /webhooks/providers/<provider name>`` takes a Standard Webhooks message signed with
the secret in the provider's ``webhook_secret_env`` variable. A provider without a secret
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

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from videos_app import services
from videos_app.jobs import wake
from videos_app.models import Provider, Video

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


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, name: str) -> JsonResponse:
    provider = Provider.objects.filter(name=name).first()
    secret = provider_secret(provider) if provider else ""
    if provider is None or not secret:
        return _error(404, f"No provider named '{name}' accepts webhooks here.", "not_found")
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


def inbound_webhook_receive(*, provider: str, webhook_id: str, event_type: str, job_id: str) -> str:
    """Act on one verified message once; what was done, in a word."""
    try:
        with transaction.atomic():
            InboundWebhook.objects.create(
                webhook_id=webhook_id[:200], provider=provider, event_type=event_type[:64]
            )
    except IntegrityError:
        logger.info("Ignored replayed webhook %s from %s", webhook_id, provider)
        return "duplicate"
    if event_type not in JOB_EVENTS:
        return "ignored"
    video = (
        Video.objects.filter(provider=provider, provider_job_id=job_id).only("id", "status").first()
        if job_id
        else None
    )
    if video is None:
        logger.warning("Webhook %s from %s names unknown job %r", webhook_id, provider, job_id)
        return "unknown_video"
    if video.status not in Video.ACTIVE_STATUSES:
        return "already_finished"
    wake.wake(video.pk)
    services.video_enqueue(video_id=video.pk)
    return "woken"


def inbound_webhooks_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_IDS
    deleted, _ = InboundWebhook.objects.filter(received_at__lt=cutoff).delete()
    return deleted
