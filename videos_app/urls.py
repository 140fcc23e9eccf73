from __future__ import annotations

from django.urls import path

from . import views

app_name = "videos"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("videos/new", views.video_new, name="new"),
    path("videos/progress", views.gallery_progress, name="gallery_progress"),
    path("videos/<str:video_id>", views.video_detail, name="detail"),
    path("videos/<str:video_id>/status", views.video_status, name="status"),
    path("videos/<str:video_id>/delete", views.video_delete, name="delete"),
    path("videos/<str:video_id>/media/<str:variant>", views.video_media, name="media"),
]
