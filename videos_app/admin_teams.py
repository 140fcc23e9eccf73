"""Teams and memberships in the admin: a team with its members inline, and the roles.

A team must keep an admin: saving a team whose inline leaves it without one is refused
with a form error (services_teams keeps the same rule for the team settings page).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from . import admin_bulk, services_teams
from .models import Membership, Team


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
        # Storage and video counts are subqueries (admin_bulk): still one query.
        queryset = super().get_queryset(request).annotate(n_members=Count("memberships"))
        return admin_bulk.teams_with_storage(queryset)

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, team: Any) -> int:
        return int(team.n_members)

    @admin.display(description="Videos", ordering="video_count")
    def video_count(self, team: Any) -> int:
        return int(team.video_count)

    @admin.display(description="Storage", ordering="storage_bytes")
    def storage(self, team: Any) -> str:
        return filesizeformat(team.storage_bytes)


def last_admin_refusals(memberships: Iterable[Membership]) -> list[str]:
    """Why deleting these memberships is refused: one line per team it would leave
    without an admin (shown on the admin's delete confirmation, which then offers no
    "Yes")."""
    return [
        f"{team} needs at least one admin: make someone else its admin first."
        for team in services_teams.teams_left_without_admin(memberships)
    ]


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
