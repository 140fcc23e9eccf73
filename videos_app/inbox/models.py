"""Rows of the inbox: a user's notifications and their choices of what to hear about.

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app``. The
video and comment are named by string: this module must not import the core models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    """What happened. ``SHARE_COMMENT`` is the hook for comments left through a share link
    (share links do not exist yet: nothing sends it)."""

    MENTION = "mention", "Mentions of me"
    REPLY = "reply", "Replies to my comments"
    COMMENT = "comment", "Comments on my videos"
    REVIEW = "review", "Review-state changes on my videos"
    JOB_COMPLETED = "job_completed", "My videos finishing"
    JOB_FAILED = "job_failed", "My videos failing"
    SHARE_COMMENT = "share_comment", "Comments from share links"


# Email by default for what asks for an answer; the inbox shows everything by default.
EMAIL_BY_DEFAULT = frozenset({Kind.MENTION, Kind.REPLY, Kind.SHARE_COMMENT, Kind.JOB_FAILED})


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    video = models.ForeignKey(
        "videos_app.Video", on_delete=models.CASCADE, related_name="notifications"
    )
    comment = models.ForeignKey(
        "videos_app.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The review state moved to, or the job's error code: what the line says beyond its kind.
    detail = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Decided when it is made (the user's choices then); emailed_at once it went out.
    email = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_newest"),
            # The top bar's count on every page: the user's unread rows only.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            # The email batch's scan: only what still waits to be sent.
            models.Index(
                fields=["user", "created_at"],
                condition=Q(email=True, emailed_at__isnull=True),
                name="notification_email_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} on {self.video_id}"


class NotificationChoices(models.Model):
    """One user's choices per kind; the row appears the first time they change one."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_choices"
    )
    # Kinds left out of the inbox, and kinds also sent by email.
    muted: models.JSONField = models.JSONField(default=list, blank=True)
    emailed: models.JSONField = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "notification choices"

    def __str__(self) -> str:
        return f"notification choices of {self.user}"
