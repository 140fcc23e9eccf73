"""The usage page's route, included by ``videos_app/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [path("usage/", views.usage_page, name="usage")]
