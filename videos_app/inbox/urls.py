"""The inbox's routes, included by ``videos_app/urls.py`` (in the ``videos`` namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all", views.mark_all_read, name="inbox_read_all"),
    path("inbox/choices/", views.choices, name="inbox_choices"),
    path("inbox/<int:notification_id>/read", views.mark_read, name="inbox_read"),
    path("inbox/<int:notification_id>/open", views.open_notification, name="inbox_open"),
]
