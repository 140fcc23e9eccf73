"""The Video and Character admins, the Video admin's bulk actions, and its two pages:
recent activity and storage per team (the latter from teams/admin.py).

Bulk actions go through the same services as the pages: deleting through
``services.video_remove`` (files go once the delete commits), review states through
``review.services.review_state_change`` (so the transition rules and the ReviewEvent
trail are the pages' own), and moving through ``services.videos_move_to_team``.

The other domains' admins are imported here so that Django's admin autodiscovery,
which imports ``videos_app.admin`` only, registers them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from . import (
    permissions,
    services,
)
from .accounts import admin as accounts_admin  # noqa: F401  (users, with their usage)
from .api import admin as api_admin  # noqa: F401  (registers ApiKey and ApiFile)
from .characters import services as character_services
from .models import Character, Comment, ReviewEvent, Team, Video
from .providers import admin as providers_admin  # noqa: F401  (Provider, ModelRoute)
from .review import admin as review_admin  # noqa: F401  (registers Comment and ReviewEvent)
from .review import services as review_services
from .sharing import admin as sharing_admin  # noqa: F401  (share links, visitors' comments)
from .teams import admin as teams_admin  # registers Team and Membership; the storage page
from .webhooks import admin as webhooks_admin  # noqa: F401  (registers the webhook rows)

ACTIVITY_LIMIT = 50


@admin.action(description="Delete selected videos with their files")
def delete_with_assets(
    modeladmin: admin.ModelAdmin[Video], request: HttpRequest, queryset: QuerySet[Video]
) -> HttpResponse | None:
    """Delete each finished video and its files; skip those still rendering (or feeding
    a remix, extension or edit that is), and say so. Asks first, as Django's own
    delete action does: files cannot be brought back."""
    if "apply" not in request.POST:
        return _intermediate(
            modeladmin,
            request,
            queryset,
            action="delete_with_assets",
            title="Delete the selected videos and their files?",
            form=forms.Form(),
            submit_label="Yes, delete them",
        )
    busy_sources = set(
        Video.objects.filter(source__in=queryset, status__in=Video.ACTIVE_STATUSES).values_list(
            "source_id", flat=True
        )
    )
    deleted: list[str] = []
    skipped: list[str] = []
    locked: list[str] = []
    for video in list(queryset):
        if video.is_active or video.pk in busy_sources:
            skipped.append(video.pk)
            continue
        try:
            services.video_remove(video=video)
        except ValidationError:  # approved, so locked (checked on the row as it is now)
            locked.append(video.pk)
        else:
            deleted.append(video.pk)
    modeladmin.message_user(request, f"Deleted {len(deleted)} video(s) with their files.")
    if skipped:
        modeladmin.message_user(
            request,
            f"Skipped {len(skipped)} still rendering (or a source of one that is): "
            + _ids(skipped),
            level=messages.WARNING,
        )
    if locked:
        modeladmin.message_user(
            request,
            f"Skipped {len(locked)} approved, so locked (an approver reopens them first): "
            + _ids(locked),
            level=messages.WARNING,
        )
    return None


def _ids(ids: list[str], limit: int = 20) -> str:
    return ", ".join(ids[:limit]) + ("…" if len(ids) > limit else "")


class ReviewStateForm(forms.Form):
    review_state = forms.ChoiceField(label="New review state", choices=Video.ReviewState.choices)


class MoveTeamForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="No team (only the creator and staff see it)",
    )


def _intermediate(
    modeladmin: admin.ModelAdmin[Video],
    request: HttpRequest,
    queryset: QuerySet[Video],
    *,
    action: str,
    title: str,
    form: forms.Form,
    submit_label: str = "Apply",
) -> TemplateResponse:
    """The page that asks for the action's argument, carrying the selection along."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "action": action,
        "videos": list(queryset.select_related("team")[:200]),
        "count": queryset.count(),
        "selected": list(queryset.values_list("pk", flat=True)),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
    }
    return TemplateResponse(request, "admin/videos_app/video/bulk_choice.html", context)


@admin.action(description="Set review state…")
def set_review_state(
    modeladmin: admin.ModelAdmin[Video], request: HttpRequest, queryset: QuerySet[Video]
) -> HttpResponse | None:
    form = ReviewStateForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return _intermediate(
            modeladmin,
            request,
            queryset,
            action="set_review_state",
            title="Set the review state of the selected videos",
            form=form,
        )
    to_state = form.cleaned_data["review_state"]
    changed = already = 0
    refused: dict[str, list[str]] = {}
    for video in list(queryset):
        if video.review_state == to_state:
            already += 1
            continue
        try:
            review_services.review_state_change(
                actor=request.user,  # type: ignore[arg-type]  # the admin is signed in
                video=video,
                to_state=to_state,
            )
        except (ValidationError, PermissionDenied) as exc:
            reason = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            refused.setdefault(reason, []).append(video.pk)
        else:
            changed += 1
    label = Video.ReviewState(to_state).label
    note = f" ({already} already were)" if already else ""
    modeladmin.message_user(request, f"Set {changed} video(s) to “{label}”{note}.")
    for reason, ids in refused.items():
        modeladmin.message_user(
            request, f"Skipped {len(ids)}: {reason} ({', '.join(ids[:10])})", messages.WARNING
        )
    return None


@admin.action(description="Move to team…")
def move_to_team(
    modeladmin: admin.ModelAdmin[Video], request: HttpRequest, queryset: QuerySet[Video]
) -> HttpResponse | None:
    form = MoveTeamForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return _intermediate(
            modeladmin,
            request,
            queryset,
            action="move_to_team",
            title="Move the selected videos to a team",
            form=form,
        )
    team = form.cleaned_data["team"]
    # An approved version is locked: its team (who sees it, who approves it) stays.
    locked = list(
        queryset.filter(review_state=Video.ReviewState.APPROVED).values_list("pk", flat=True)
    )
    moved = services.videos_move_to_team(videos=queryset.exclude(pk__in=locked), team=team)
    modeladmin.message_user(request, f"Moved {moved} video(s) to {team or 'no team'}.")
    if locked:
        modeladmin.message_user(
            request,
            f"Skipped {len(locked)} approved, so locked: " + _ids(locked),
            level=messages.WARNING,
        )
    return None


def _media_preview(video: Video, variant: str, html: str) -> str:
    """A read-only preview of a finished video's asset, served by the media view."""
    if not video.is_completed:
        return "—"
    return format_html(html, reverse("videos:media", args=[video.pk, variant]))


class TeamFilter(admin.RelatedFieldListFilter):
    """The team filter, whose choice for videos in no team says so (Django shows "-")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = mark_safe("(no team)")  # a constant


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    # Fits a desk's width: what it looks like and says first, the job's shape in one column.
    list_display = [
        "list_thumbnail",
        "short_prompt",
        "status_text",
        "model",
        "shape",
        "owner",
        "shown_to",
        "created",
    ]
    list_display_links = ["list_thumbnail", "short_prompt"]

    class Media:
        css = {"all": ["studio/admin-videos.css"]}

    list_filter = [
        "status",
        ("team", TeamFilter),
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
    actions = [delete_with_assets, set_review_state, move_to_team]

    @admin.display(description="")
    def list_thumbnail(self, video: Video) -> str:
        return _media_preview(
            video, "thumbnail", '<img src="{}" alt="" width="96" height="54" loading="lazy" '
            'style="object-fit:cover;display:block">'
        )  # fmt: skip

    @admin.display(description="Prompt")
    def short_prompt(self, video: Video) -> str:
        return video.prompt[:80] + ("…" if len(video.prompt) > 80 else "")

    @admin.display(description="Status", ordering="status")
    def status_text(self, video: Video) -> str:
        if video.status == Video.Status.IN_PROGRESS:
            return f"{video.get_status_display()} {video.progress}%"
        return str(video.get_status_display())

    @admin.display(description="Team", ordering="team__name")
    def shown_to(self, video: Video) -> str:
        """The team (or none), and whether the video is private to its creator."""
        team = video.team.name if video.team else "(no team)"
        return f"{team} · private" if video.visibility == Video.Visibility.PRIVATE else team

    @admin.display(description="Created", ordering="created_at")
    def created(self, video: Video) -> str:
        return date_format(timezone.localtime(video.created_at), "j M Y H:i")

    @admin.display(description="Shape")
    def shape(self, video: Video) -> str:
        """Size, length and what made it: "1280x720 · 8 s · extend"."""
        parts = [video.size, f"{video.seconds} s"]
        if video.operation != Video.Operation.CREATE:
            parts.append(str(video.get_operation_display()).lower())
        return " · ".join(parts)

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
        # The admin's own pages: recent activity and storage per team.
        site = self.admin_site
        return [
            path(
                "activity/",
                site.admin_view(lambda request: activity_view(request, site)),
                name="videos_app_video_activity",
            ),
            path(
                "storage/",
                site.admin_view(lambda request: teams_admin.storage_view(request, site)),
                name="videos_app_video_storage",
            ),
            *super().get_urls(),
        ]

    def has_change_permission(self, request: HttpRequest, obj: Video | None = None) -> bool:
        # An approved version is locked: its page is read-only until an approver reopens it.
        if obj is not None and permissions.is_locked(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Video | None = None) -> bool:
        if obj is not None and permissions.is_locked(obj):
            return False
        return super().has_delete_permission(request, obj)

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
        character_services.character_delete(character=obj, actor=request.user)  # type: ignore[arg-type]

    @admin.display(description="Poster")
    def poster_preview(self, character: Character) -> str:
        if not character.poster:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="160">',
            reverse("videos:character_media", args=[character.pk, "poster"]),
        )


# --- Recent activity --------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str  # "video", "review", "comment"
    who: str
    what: str
    video_id: str
    url: str


def recent_activity(limit: int = ACTIVITY_LIMIT) -> list[Activity]:
    """The latest videos created, review changes and comments, newest first, merged.

    Three indexed queries of ``limit`` rows each (every table orders by ``created_at``)."""
    videos = (
        Video.objects.select_related("owner")
        .only("id", "created_at", "operation", "prompt", "owner__username")
        .order_by("-created_at", "-id")[:limit]
    )
    reviews = ReviewEvent.objects.select_related("actor").order_by("-created_at", "-id")[:limit]
    comments = (
        Comment.objects.select_related("author")
        .only("id", "created_at", "body", "video_id", "author__username")
        .order_by("-created_at", "-id")[:limit]
    )

    def change_url(video_id: str) -> str:
        # quote(): the admin reads "_22" in a URL as '"' (its own escape), and a video id
        # is "video_" + hex, so about one id in forty would name no video unquoted.
        return reverse("admin:videos_app_video_change", args=[quote(video_id)])

    streams: list[list[Activity]] = [
        [
            Activity(
                v.created_at,
                "video",
                v.owner.get_username(),
                f"{v.get_operation_display()}: {v.prompt[:80]}",
                v.pk,
                change_url(v.pk),
            )
            for v in videos
        ],
        [
            Activity(
                e.created_at,
                "review",
                e.actor.get_username() if e.actor else "(deleted user)",
                f"{Video.ReviewState(e.from_state).label} → {Video.ReviewState(e.to_state).label}",
                e.video_id,
                change_url(e.video_id),
            )
            for e in reviews
        ],
        [
            Activity(
                c.created_at,
                "comment",
                c.author.get_username(),
                c.body[:80],
                c.video_id,
                change_url(c.video_id),
            )
            for c in comments
        ],
    ]
    merged = heapq.merge(*streams, key=lambda a: a.at, reverse=True)
    return [item for _, item in zip(range(limit), merged, strict=False)]


def activity_view(request: HttpRequest, site: admin.AdminSite) -> TemplateResponse:
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Recent activity",
        "items": recent_activity(),
    }
    return TemplateResponse(request, "admin/studio_activity.html", context)
