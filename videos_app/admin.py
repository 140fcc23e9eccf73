from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html

from . import (
    admin_bulk,
    admin_review,  # noqa: F401  (registers Comment and ReviewEvent)
    admin_teams,  # noqa: F401  (registers Team and Membership)
    services,
)
from .api import admin as api_admin  # noqa: F401  (registers ApiKey and ApiFile)
from .models import Character, Video
from .providers import admin as providers_admin  # noqa: F401  (Provider, ModelRoute; user usage)
from .webhooks import admin as webhooks_admin  # noqa: F401  (registers the webhook rows)


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
        "team",
        "visibility",
        "created_at",
    ]
    list_filter = [
        "status",
        "team",
        "visibility",
        "operation",
        "model",
        "size",
        "seconds",
        "provider",
        "created_at",
    ]
    search_fields = ["id", "prompt", "owner__username", "provider_job_id"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "team"]
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
        "provider_model",
        "provider_job_id",
        "cost_estimate",
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
        ("Team", {"fields": ["team", "visibility"]}),
        (
            "Job",
            {
                "fields": [
                    "status",
                    "progress",
                    "error_code",
                    "error_message",
                    "provider",
                    "provider_model",
                    "provider_job_id",
                    "cost_estimate",
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
    actions = [admin_bulk.delete_with_assets, admin_bulk.set_review_state, admin_bulk.move_to_team]

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

    def get_urls(self) -> list[Any]:
        # The admin's own pages: recent activity and storage per team (see admin_bulk).
        site = self.admin_site
        return [
            path(
                "activity/",
                site.admin_view(lambda request: admin_bulk.activity_view(request, site)),
                name="videos_app_video_activity",
            ),
            path(
                "storage/",
                site.admin_view(lambda request: admin_bulk.storage_view(request, site)),
                name="videos_app_video_storage",
            ),
            *super().get_urls(),
        ]

    def delete_model(self, request: HttpRequest, obj: Video) -> None:
        services.video_remove(video=obj)


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "team", "duration", "width", "height", "created_at"]
    search_fields = ["id", "name", "owner__username"]
    list_filter = ["team", "created_at"]
    list_select_related = ["owner", "team"]
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
