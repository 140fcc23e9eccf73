"""Teams and memberships in the admin: a team with its members inline, and the roles.

A team must keep an admin: saving a team whose inline leaves it without one is refused
with a form error (services_teams keeps the same rule for the team settings page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from . import admin_bulk
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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name", "team__slug"]
    list_select_related = ["user", "team"]
    raw_id_fields = ["user"]
