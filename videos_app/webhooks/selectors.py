"""Reads for the webhooks pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import WebhookDelivery, WebhookEndpoint

HISTORY_LIMIT = 50


def endpoints_of(*, user: AbstractBaseUser) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(owner_id=user.pk).annotate(
        failed_count=Count("deliveries", filter=Q(deliveries__status="failed")),
        pending_count=Count("deliveries", filter=Q(deliveries__status="pending")),
    )


def endpoint_of(*, user: AbstractBaseUser, endpoint_id: int) -> WebhookEndpoint:
    """The user's own endpoint, or 404 (someone else's is not found, even for staff)."""
    return get_object_or_404(
        WebhookEndpoint.objects.select_related("owner"), pk=endpoint_id, owner_id=user.pk
    )


def deliveries_of(
    *, endpoint: WebhookEndpoint, limit: int = HISTORY_LIMIT
) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.all()[:limit])
