"""Collections' and saved filters' routes, included by ``videos_app/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("collections/side", views.gallery_side, name="gallery_side"),
    path("collections/new", views.collection_new, name="collection_new"),
    path("collections/add", views.collection_add, name="collection_add"),
    path(
        "collections/<int:collection_id>/rename", views.collection_rename, name="collection_rename"
    ),
    path(
        "collections/<int:collection_id>/delete", views.collection_delete, name="collection_delete"
    ),
    path(
        "collections/<int:collection_id>/remove", views.collection_remove, name="collection_remove"
    ),
    path("filters/new", views.saved_filter_new, name="saved_filter_new"),
    path("filters/<int:saved_id>/delete", views.saved_filter_delete, name="saved_filter_delete"),
]
