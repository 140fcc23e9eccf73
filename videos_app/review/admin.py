"""Admin pages for comments and the review history (read-mostly: the site writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Comment, ReviewEvent


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = (
        "id", "video", "author", "at_seconds", "out_seconds", "short_body", "resolved_at",
        "created_at",
    )  # fmt: skip
    list_select_related = ("video", "author")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("body", "author__username", "video__id")
    raw_id_fields = ("video", "author", "parent", "resolved_by")
    filter_horizontal = ("mentions",)
    date_hierarchy = "created_at"

    @admin.display(description="Body")
    def short_body(self, comment: Comment) -> str:
        return comment.body if len(comment.body) <= 80 else comment.body[:79] + "…"


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    """The history is a record: it is read here, never written."""

    list_display = ("created_at", "video", "actor", "from_state", "to_state")
    list_filter = ("to_state",)
    list_select_related = ("video", "actor")
    search_fields = ("video__id", "actor__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
