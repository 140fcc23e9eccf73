from __future__ import annotations

from django.urls import path

from . import views, views_export, views_presets, views_review, views_teams, views_usage

app_name = "videos"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("videos/new", views.video_new, name="new"),
    path("videos/progress", views.gallery_progress, name="gallery_progress"),
    path("videos/edit", views.video_edit_upload, name="edit_upload"),
    path("videos/<str:video_id>", views.video_detail, name="detail"),
    path("videos/<str:video_id>/status", views.video_status, name="status"),
    path("videos/<str:video_id>/delete", views.video_delete, name="delete"),
    path("videos/<str:video_id>/remix", views.video_remix, name="remix"),
    path("videos/<str:video_id>/extend", views.video_extend, name="extend"),
    path("videos/<str:video_id>/edit", views.video_edit, name="edit"),
    path("videos/<str:video_id>/media/<str:variant>", views.video_media, name="media"),
    path("videos/<str:video_id>/favorite", views_review.favorite_toggle, name="favorite"),
    path("videos/<str:video_id>/review", views_review.review_change, name="review"),
    path("videos/<str:video_id>/comments", views_review.comments, name="comments"),
    path(
        "videos/<str:video_id>/comments/<int:comment_id>/delete",
        views_review.comment_delete,
        name="comment_delete",
    ),
    path("compare/", views_review.compare, name="compare"),
    path("mentions/", views_review.mentions, name="mentions"),
    path("export/", views_export.video_export, name="export"),
    path("videos/<str:video_id>/reference", views_presets.video_reference, name="reference"),
    path("usage/", views_usage.usage_page, name="usage"),
    path("presets/", views_presets.presets, name="presets"),
    path("presets/<int:preset_id>/edit", views_presets.preset_edit, name="preset_edit"),
    path("presets/<int:preset_id>/delete", views_presets.preset_delete, name="preset_delete"),
    path("teams/", views_teams.team_list, name="teams"),
    path("teams/<slug:slug>/", views_teams.team_detail, name="team"),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/role",
        views_teams.member_role,
        name="team_member_role",
    ),
    path(
        "teams/<slug:slug>/members/<int:membership_id>/remove",
        views_teams.member_remove,
        name="team_member_remove",
    ),
    path("characters", views.characters, name="characters"),
    path("characters/<str:character_id>", views.character_detail, name="character"),
    path("characters/<str:character_id>/delete", views.character_delete, name="character_delete"),
    path(
        "characters/<str:character_id>/media/<str:variant>",
        views.character_media,
        name="character_media",
    ),
]
