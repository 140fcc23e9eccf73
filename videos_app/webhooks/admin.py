"""Admin for webhook endpoints, deliveries and inbound ids (imported by videos_app/admin.py).

Signing secrets are never shown here: their owner sees theirs on the account page, and
an admin can only rotate one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import outbound, services
from .models import InboundWebhook, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "description", "events", "all_videos", "active", "created_at"]
    list_filter = ["active", "all_videos", "created_at"]
    search_fields = ["url", "description", "owner__username"]
    list_select_related = ["owner"]
    exclude = ["secret"]
    raw_id_fields = ["owner"]
    actions = ["rotate_secret", "disable"]

    @admin.action(description="Rotate the signing secret of the selected endpoints")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.endpoint_rotate_secret(endpoint=endpoint)
        self.message_user(request, f"Rotated {queryset.count()} secret(s); tell their owners.")

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self.message_user(request, f"Disabled {queryset.update(active=False)} endpoint(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_id",
        "event_type",
        "video_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "created_at"]
    search_fields = ["event_id", "video_id", "endpoint__url", "endpoint__owner__username"]
    list_select_related = ["endpoint"]
    actions = ["redeliver"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Redeliver the selected failed or delivered events")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = sum(outbound.delivery_redeliver(delivery=d) for d in queryset)
        self.message_user(request, f"Queued {count} delivery(ies) again.")


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "provider", "event_type", "received_at"]
    list_filter = ["provider", "event_type"]
    search_fields = ["webhook_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
