"""Share links in the admin, to read (and revoke): they are made on the pages, whose
response holds a link's only copy; the token's and passphrase's hashes are not shown.
Visitors' comments can be deleted here (say, one that should not have been left)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import SharedComment, ShareLink, ShareUse


class ShareUseInline(admin.TabularInline):
    model = ShareUse
    fields = readonly_fields = ("created_at", "kind", "video", "ip_hash", "user_agent")
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["label", "team", "created_by", "created_at", "expires_at", "revoked_at",
                    "allow_comments", "allow_download"]  # fmt: skip
    list_filter = ["team", "allow_comments", "allow_download"]
    search_fields = ["label", "team__name", "created_by__username"]
    list_select_related = ["team", "created_by"]
    exclude = ["token_hash", "passphrase_hash"]
    readonly_fields = ["videos"]
    inlines = [ShareUseInline]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ShareLink | None = None) -> bool:
        return False

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        ended = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{ended} link(s) revoked.", messages.SUCCESS)


@admin.register(SharedComment)
class SharedCommentAdmin(admin.ModelAdmin):
    list_display = ["guest_name", "guest_email", "video", "link", "created_at"]
    search_fields = ["guest_name", "guest_email", "body"]
    list_select_related = ["video", "link"]
    readonly_fields = ["link", "video", "guest_name", "guest_email", "body", "at_seconds"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
