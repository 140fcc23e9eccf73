"""Review's routes, included by ``videos_app/urls.py`` (in the ``videos`` namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import compare, views

urlpatterns: list[URLPattern] = [
    path("videos/<str:video_id>/favorite", views.favorite_toggle, name="favorite"),
    path("videos/<str:video_id>/review", views.review_change, name="review"),
    path("videos/<str:video_id>/approvers", views.approvers_set, name="approvers"),
    path("videos/<str:video_id>/comments", views.comments, name="comments"),
    path(
        "videos/<str:video_id>/comments/<int:comment_id>/delete",
        views.comment_delete,
        name="comment_delete",
    ),
    path(
        "videos/<str:video_id>/comments/<int:comment_id>/resolve",
        views.comment_resolve,
        name="comment_resolve",
    ),
    path("compare/", compare.compare, name="compare"),
    path("mentions/", views.mentions, name="mentions"),
]
