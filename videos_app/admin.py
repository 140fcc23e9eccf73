from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .api import admin as api_admin  # noqa: F401  (registers ApiKey and ApiFile)
from .models import Character, Video


def _media_preview(video: Video, variant: str, html: str) -> str:
    """A read-only preview of a finished video's asset, served by the media view."""
    if not video.is_completed:
        return "—"
    return format_html(html, reverse("videos:media", args=[video.pk, variant]))


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "short_prompt",
        "status",
        "progress",
        "model",
        "size",
        "seconds",
        "operation",
        "provider",
        "owner",
        "created_at",
    ]
    list_filter = ["status", "operation", "model", "size", "seconds", "provider", "created_at"]
    search_fields = ["id", "prompt", "owner__username", "provider_job_id"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    list_per_page = 50
    show_full_result_count = False
    raw_id_fields = ["owner", "source"]
    readonly_fields = [
        "id",
        "preview",
        "thumbnail_preview",
        "spritesheet_preview",
        "status",
        "progress",
        "error_code",
        "error_message",
        "provider",
        "provider_job_id",
        "attempts",
        "heartbeat_at",
        "reference_image",
        "video_file",
        "thumbnail_file",
        "spritesheet_file",
        "file_size",
        "seed",
        "created_at",
        "started_at",
        "completed_at",
        "remixed_from_video_id",
    ]
    fieldsets = [
        (None, {"fields": ["id", "owner", "prompt", "model", "size", "seconds", "seed"]}),
        (
            "Job",
            {
                "fields": [
                    "status",
                    "progress",
                    "error_code",
                    "error_message",
                    "provider",
                    "provider_job_id",
                    "attempts",
                    "heartbeat_at",
                    "created_at",
                    "started_at",
                    "completed_at",
                ]
            },
        ),
        (
            "Assets",
            {
                "fields": [
                    "preview",
                    "thumbnail_preview",
                    "spritesheet_preview",
                    "video_file",
                    "thumbnail_file",
                    "spritesheet_file",
                    "file_size",
                    "reference_image",
                ]
            },
        ),
        ("Lineage", {"fields": ["operation", "source", "remixed_from_video_id", "characters"]}),
    ]
    filter_horizontal = ["characters"]
    actions = ["delete_with_assets"]

    @admin.display(description="Prompt")
    def short_prompt(self, video: Video) -> str:
        return video.prompt[:80] + ("…" if len(video.prompt) > 80 else "")

    @admin.display(description="Video")
    def preview(self, video: Video) -> str:
        return _media_preview(video, "video", '<video src="{}" controls width="320"></video>')

    @admin.display(description="Thumbnail")
    def thumbnail_preview(self, video: Video) -> str:
        return _media_preview(video, "thumbnail", '<img src="{}" alt="" width="200">')

    @admin.display(description="Spritesheet")
    def spritesheet_preview(self, video: Video) -> str:
        return _media_preview(video, "spritesheet", '<img src="{}" alt="" width="320">')

    def get_actions(
        self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location)
        # The built-in bulk delete would leave the files behind.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected finished videos with their files")
    def delete_with_assets(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        deleted = skipped = 0
        for video in queryset:
            if video.is_finished:
                services.video_delete(video=video, actor=request.user)  # type: ignore[arg-type]
                deleted += 1
            else:
                skipped += 1
        self.message_user(request, f"Deleted {deleted} video(s); skipped {skipped} still running.")

    def delete_model(self, request: HttpRequest, obj: Video) -> None:
        services.video_remove(video=obj)


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "duration", "width", "height", "created_at"]
    search_fields = ["id", "name", "owner__username"]
    list_filter = ["created_at"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = [
        "id",
        "poster_preview",
        "clip",
        "poster",
        "created_at",
        "duration",
        "width",
        "height",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a character needs its clip checked: create it on the Characters page

    def delete_model(self, request: HttpRequest, obj: Character) -> None:
        services.character_delete(character=obj, actor=request.user)  # type: ignore[arg-type]

    @admin.display(description="Poster")
    def poster_preview(self, character: Character) -> str:
        if not character.poster:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="160">',
            reverse("videos:character_media", args=[character.pk, "poster"]),
        )
