"""Teams and memberships in the admin: a team with its members inline, the roles, and
the storage-per-team page (linked from the Video admin).

A team must keep an admin: saving a team whose inline leaves it without one is refused
with a form error (teams/services.py keeps the same rule for the team settings page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse

from ..models import Video
from .models import Invitation, Membership, Team
from .selectors import teams_with_storage
from .services import last_admin_refusals


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if roles and Membership.Role.ADMIN not in roles:
            raise ValidationError("A team needs at least one admin.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 1
    raw_id_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "video_count", "storage", "created_at"]
    search_fields = ["name", "slug", "memberships__user__username"]
    list_filter = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        # Storage and video counts are subqueries (teams_with_storage): still one query.
        queryset = super().get_queryset(request).annotate(n_members=Count("memberships"))
        return teams_with_storage(queryset)

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, team: Any) -> int:
        return int(team.n_members)

    @admin.display(description="Videos", ordering="video_count")
    def video_count(self, team: Any) -> int:
        return int(team.video_count)

    @admin.display(description="Storage", ordering="storage_bytes")
    def storage(self, team: Any) -> str:
        return filesizeformat(team.storage_bytes)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["team", "user", "role"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None:
            return cleaned
        before = Membership.objects.get(pk=self.instance.pk)
        stays_admin = (
            cleaned.get("role") == Membership.Role.ADMIN and cleaned.get("team") == before.team
        )
        if not stays_admin and (refusals := last_admin_refusals([before])):
            raise ValidationError(refusals)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name", "team__slug"]
    list_select_related = ["user", "team"]
    raw_id_fields = ["user"]

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, [*protected, *last_admin_refusals(objs)]


def storage_view(request: HttpRequest, site: admin.AdminSite) -> TemplateResponse:
    """Storage per team, and of the videos in no team (an admin page; see VideoAdmin)."""
    teams = list(
        teams_with_storage(Team.objects.order_by("name")).annotate(
            member_count=Count("memberships")
        )
    )
    personal = Video.objects.filter(team=None).aggregate(
        storage_bytes=Coalesce(Sum("file_size"), 0), video_count=Count("pk")
    )
    context = {
        **site.each_context(request),
        "title": "Storage per team",
        "teams": teams,
        "personal": personal,
        "total_bytes": sum(t.storage_bytes for t in teams) + personal["storage_bytes"],  # type: ignore[attr-defined]
    }
    return TemplateResponse(request, "admin/studio_storage.html", context)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations, to read: they are made on the team page, whose response holds the
    only copy of a link's token (no form here could show it)."""

    list_display = ["team", "email", "role", "created_by", "created_at", "expires_at",
                    "accepted_by", "accepted_at", "withdrawn_at"]  # fmt: skip
    list_filter = ["role", "team"]
    search_fields = ["email", "team__name"]
    list_select_related = ["team", "created_by", "accepted_by"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
