"""Routes of the /v1 API: no trailing slashes, literal segments before ``{video_id}``."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import views

app_name = "api"

urlpatterns: list[URLPattern] = [
    path("openapi.json", views.openapi_document, name="openapi"),
    path("videos", views.videos, name="videos"),
    # Literal segments first: "characters", "edits" and "extensions" are not video ids.
    path("videos/characters", views.character_create, name="character_create"),
    path(
        "videos/characters/<str:character_id>",
        views.character_retrieve,
        name="character_retrieve",
    ),
    path("videos/edits", views.video_edit, name="video_edit"),
    path("videos/extensions", views.video_extend, name="video_extend"),
    path("videos/<str:video_id>", views.video, name="video"),
    path("videos/<str:video_id>/content", views.video_content, name="video_content"),
    path("videos/<str:video_id>/remix", views.video_remix, name="video_remix"),
    path("videos/<str:video_id>/cancel", views.video_cancel, name="video_cancel"),
    path("files", views.file_create, name="files"),
    path("files/<str:file_id>", views.file_detail, name="file"),
    # Last: every other path under /v1 answers a 404 envelope, not a slash redirect.
    re_path(r"^(?P<path>.*)$", views.unknown_url, name="unknown_url"),
]
