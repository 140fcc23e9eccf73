"""Takes' routes, included by ``videos_app/urls.py`` (in the ``videos`` namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("videos/<str:video_id>/take/pick", views.take_pick, name="take_pick"),
]
