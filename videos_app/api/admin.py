"""Admin for API keys and uploaded files (imported by videos_app/admin.py).

The secret's hash is never shown or editable, and keys are not added here: a key is
made on the settings page or with ``manage.py createapikey``, which show it once.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from videos_app.models import ApiKey

from . import files, keys
from .models import ApiFile


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "masked_key", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["name", "user", "masked_key", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "masked_key", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="Key")
    def masked_key(self, key: ApiKey) -> str:
        return f"{keys.KEY_PREFIX}{key.prefix}-…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            keys.api_key_revoke(key=key)
            count += 1
        self.message_user(request, f"Revoked {count} API key(s).")


@admin.register(ApiFile)
class ApiFileAdmin(admin.ModelAdmin):
    list_display = ["id", "filename", "purpose", "bytes", "owner", "created_at", "expires_at"]
    search_fields = ["id", "filename", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["id", "owner", "filename", "purpose", "bytes", "created_at"]
    exclude = ["content"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiFile) -> None:
        files.api_file_delete(api_file=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiFile]) -> None:
        for api_file in queryset:
            files.api_file_delete(api_file=api_file)
