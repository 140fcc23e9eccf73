"""The user admin: Django's, with each user's usage and the last-admin rule of teams."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from videos_app.models import Membership
from videos_app.providers import limits
from videos_app.teams.services import last_admin_refusals
from videos_app.usage import selectors as usage

User = get_user_model()
ZERO = Value(0, output_field=DecimalField(max_digits=12, decimal_places=4))


class StudioUserAdmin(UserAdmin):
    """Django's user admin plus each user's video count, rendered seconds and cost.

    The totals are annotations on the changelist's own query (one query for the page).
    """

    list_display = [
        "username",
        "email",
        "is_staff",
        "video_count",
        "video_seconds",
        "video_cost",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                usage_videos=Count("videos"),
                usage_seconds=Coalesce(Sum(usage.billed_seconds("videos__")), 0),
                usage_cost=Coalesce(Sum("videos__cost_estimate"), ZERO),
            )
        )

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """Refused (like a user who still owns videos) when it would leave a team
        without an admin."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        leaving = Membership.objects.filter(user__in=[user.pk for user in objs])
        return deleted, counts, perms_needed, [*protected, *last_admin_refusals(leaving)]

    @admin.display(description="Videos", ordering="usage_videos")
    def video_count(self, user: Any) -> int:
        return int(user.usage_videos)

    @admin.display(description="Seconds", ordering="usage_seconds")
    def video_seconds(self, user: Any) -> int:
        return int(user.usage_seconds)

    @admin.display(description="Est. cost", ordering="usage_cost")
    def video_cost(self, user: Any) -> str:
        return limits.format_usd(user.usage_cost)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StudioUserAdmin)
