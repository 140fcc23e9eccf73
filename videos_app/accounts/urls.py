"""The account settings pages (API keys, preferences), included at the root by studio/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("account/api-keys", views.api_keys, name="api_keys"),
    path("account/preferences", views.preferences, name="preferences"),
    path("account/api-keys/<int:key_id>/revoke", views.api_key_revoke, name="api_key_revoke"),
]
