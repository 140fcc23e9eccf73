"""The pages' routes (namespace ``videos``): the core video pages here, each domain's from
its package's urls.py (included without a namespace of their own, so the names stay
``videos:<name>``)."""

from __future__ import annotations

from django.urls import include, path

from . import views
from .albums import urls as albums_urls
from .export import urls as export_urls
from .inbox import urls as inbox_urls
from .presets import urls as presets_urls
from .review import urls as review_urls
from .sharing import urls as sharing_urls
from .stacks import urls as stacks_urls
from .takes import urls as takes_urls
from .teams import urls as teams_urls
from .usage import urls as usage_urls

app_name = "videos"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("videos/new", views.video_new, name="new"),
    path("videos/progress", views.gallery_progress, name="gallery_progress"),
    path("videos/edit", views.video_edit_upload, name="edit_upload"),
    path("videos/edit/preview", views.video_edit_preview, name="edit_preview"),
    path("videos/<str:video_id>", views.video_detail, name="detail"),
    path("videos/<str:video_id>/status", views.video_status, name="status"),
    path("videos/<str:video_id>/delete", views.video_delete, name="delete"),
    path("videos/<str:video_id>/cancel", views.video_cancel, name="cancel"),
    path("videos/<str:video_id>/remix", views.video_remix, name="remix"),
    path("videos/<str:video_id>/extend", views.video_extend, name="extend"),
    path("videos/<str:video_id>/edit", views.video_edit, name="edit"),
    path("videos/<str:video_id>/media/<str:variant>", views.video_media, name="media"),
    path("characters", views.characters, name="characters"),
    path("characters/<str:character_id>", views.character_detail, name="character"),
    path("characters/<str:character_id>/delete", views.character_delete, name="character_delete"),
    path(
        "characters/<str:character_id>/media/<str:variant>",
        views.character_media,
        name="character_media",
    ),
    path("", include(review_urls)),
    path("", include(export_urls)),
    path("", include(presets_urls)),
    path("", include(usage_urls)),
    path("", include(inbox_urls)),
    path("", include(teams_urls)),
    path("", include(sharing_urls)),
    path("", include(takes_urls)),
    path("", include(stacks_urls)),
    path("", include(albums_urls)),
]
