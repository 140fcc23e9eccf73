"""The API keys settings page; included at the site root by studio/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import account

urlpatterns: list[URLPattern] = [
    path("account/api-keys", account.api_keys, name="api_keys"),
    path("account/api-keys/<int:key_id>/revoke", account.api_key_revoke, name="api_key_revoke"),
]
