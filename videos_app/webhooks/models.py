"""Rows for webhooks in and out."""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import models


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in standard base64 (the
    form the official SDK's ``verify_signature`` decodes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(16)}"


class WebhookEndpoint(models.Model):
    """A URL a user registered to receive signed events about their videos."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    events = models.JSONField(default=list, blank=True, help_text="Event types; empty: all.")
    # An admin's endpoint can receive the events of every video, not only their own.
    all_videos = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its delivery attempts' outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64, default=new_event_id)
    event_type = models.CharField(max_length=64)
    video_id = models.CharField(max_length=40, blank=True, db_index=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class InboundWebhook(models.Model):
    """A webhook an upstream provider sent us, kept so that a replayed id is ignored."""

    webhook_id = models.CharField(max_length=200, unique=True)
    provider = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.provider}: {self.webhook_id}"
