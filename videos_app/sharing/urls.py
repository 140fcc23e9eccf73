"""Sharing's routes, included by ``videos_app/urls.py`` (in the ``videos`` namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("shares/new", views.share_new, name="share_new"),
    path("shares/<int:link_id>/revoke", views.share_revoke, name="share_revoke"),
    path("videos/<str:video_id>/shares", views.video_shares, name="video_shares"),
    path(
        "videos/<str:video_id>/shared-comments/<int:comment_id>/delete",
        views.shared_comment_delete,
        name="shared_comment_delete",
    ),
    path("teams/<slug:slug>/shares/", views.team_shares, name="team_shares"),
    path("s/<str:token>/", views.share_page, name="share"),
    path("s/<str:token>/unlock", views.share_unlock, name="share_unlock"),
    path(
        "s/<str:token>/videos/<str:video_id>/comments",
        views.share_comment,
        name="share_comment",
    ),
    path(
        "s/<str:token>/media/<str:video_id>/<str:variant>",
        views.share_media,
        name="share_media",
    ),
]
