"""Rows the /v1 API adds: files uploaded through ``/v1/files``, and where deleted videos
stood in the list (so a client paging through it while deleting can go on)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_file_id() -> str:
    return f"file-{secrets.token_hex(12)}"


def api_file_path(instance: ApiFile, filename: str) -> str:
    # The name the client sent is kept in a column, never used as a path.
    return f"api_files/{instance.pk}/content"


class ApiFile(models.Model):
    """An image uploaded with ``POST /v1/files``, usable as ``input_reference.file_id``.

    Checked to be a JPEG, PNG or WebP image when uploaded; sized to the video when used.
    """

    class Purpose(models.TextChoices):
        VISION = "vision", "Vision"
        USER_DATA = "user_data", "User data"

    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_files"
    )
    filename = models.CharField(max_length=255)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    bytes = models.PositiveBigIntegerField(default=0)
    content = models.FileField(upload_to=api_file_path, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API file"

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"


class DeletedVideo(models.Model):
    """A deleted video's place in ``GET /v1/videos``: a client that lists and deletes as
    it goes pages on with ``after=<an id it just deleted>`` (the SDK's auto-pagination
    does). Written when a video row is deleted, by any path (``api.cursors``); kept for
    ``KEEP_DAYS``. Who saw the video may page from it, no one else (as for a live one)."""

    KEEP_DAYS = 30

    id = models.CharField(primary_key=True, max_length=40)
    created_at = models.DateTimeField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "videos_app.Team", null=True, on_delete=models.CASCADE, related_name="+"
    )
    visibility = models.CharField(max_length=8)
    deleted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.id
