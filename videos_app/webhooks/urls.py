"""Webhook routes; included at the site root by studio/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import inbound, views

urlpatterns: list[URLPattern] = [
    path("webhooks/providers/<slug:name>", inbound.provider_webhook, name="provider_webhook"),
    path("account/webhooks/", views.webhooks, name="webhooks"),
    path("account/webhooks/<int:endpoint_id>/", views.endpoint_detail, name="webhook_endpoint"),
    path(
        "account/webhooks/<int:endpoint_id>/rotate",
        views.endpoint_rotate,
        name="webhook_endpoint_rotate",
    ),
    path(
        "account/webhooks/<int:endpoint_id>/toggle",
        views.endpoint_toggle,
        name="webhook_endpoint_toggle",
    ),
    path(
        "account/webhooks/<int:endpoint_id>/delete",
        views.endpoint_delete,
        name="webhook_endpoint_delete",
    ),
    path(
        "account/webhooks/<int:endpoint_id>/test", views.endpoint_test, name="webhook_endpoint_test"
    ),
    path(
        "account/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
        views.delivery_redeliver,
        name="webhook_redeliver",
    ),
]
