"""Stacks' routes, included by ``videos_app/urls.py`` (in the ``videos`` namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("videos/<str:video_id>/stack/add", views.stack_add, name="stack_add"),
    path("videos/<str:video_id>/stack/out", views.stack_take_out, name="stack_take_out"),
]
