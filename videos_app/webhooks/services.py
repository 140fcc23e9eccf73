"""Writes for the webhooks settings page: endpoints (deliveries live in outbound.py)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from .models import WebhookEndpoint, new_webhook_secret


def endpoint_create(
    *,
    owner: AbstractBaseUser,
    url: str,
    description: str = "",
    events: list[str] | None = None,
    all_videos: bool = False,
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        owner_id=owner.pk,
        url=url,
        description=description,
        events=sorted(events or []),
        # Every video's events go only to staff endpoints.
        all_videos=bool(all_videos and getattr(owner, "is_staff", False)),
    )


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    description: str,
    events: list[str],
    all_videos: bool,
) -> WebhookEndpoint:
    endpoint.url = url
    endpoint.description = description
    endpoint.events = sorted(events)
    endpoint.all_videos = bool(all_videos and endpoint.owner.is_staff)
    endpoint.save(update_fields=["url", "description", "events", "all_videos"])
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = new_webhook_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    endpoint.active = active
    endpoint.save(update_fields=["active"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()  # its deliveries go with it
