"""The presets pages' routes and the carried reference image, included by ``videos_app/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("videos/<str:video_id>/reference", views.video_reference, name="reference"),
    path("presets/", views.presets, name="presets"),
    path("presets/<int:preset_id>/edit", views.preset_edit, name="preset_edit"),
    path("presets/<int:preset_id>/delete", views.preset_delete, name="preset_delete"),
]
