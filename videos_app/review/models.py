"""Rows of reviewing: favorites, the review history, comments, a stack's approvers; and
the review states.

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app`` and their
tables. The video is named by string: this module must not import the core models (they
import it, for ``ReviewState``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class ReviewState(models.TextChoices):
    """A version's review state (``Video.ReviewState``); the moves are services.TRANSITIONS.

    The stored values are the first release's (the gallery's ``?review=``, the export's
    manifest and saved filters use them); only the labels say what a reviewer does now.
    An approved version is locked (``permissions.is_locked``).
    """

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "Needs review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Changes requested"


class Favorite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites"
    )
    video = models.ForeignKey(
        "videos_app.Video", on_delete=models.CASCADE, related_name="favorites"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "video"], name="favorite_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.video_id}"


class ReviewEvent(models.Model):
    """One change of a video's review state: who, when, from what to what."""

    video = models.ForeignKey(
        "videos_app.Video", on_delete=models.CASCADE, related_name="review_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_state = models.CharField(max_length=12, choices=ReviewState.choices)
    to_state = models.CharField(max_length=12, choices=ReviewState.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.video_id}: {self.from_state} → {self.to_state}"


class Comment(models.Model):
    """A comment on a video; ``parent`` threads replies.

    A note points at a moment (``at_seconds``) or a range (``at_seconds`` to
    ``out_seconds``), both snapped to the video's frames (``notes.snap``); ``drawing`` is a
    list of shapes in 0-1 frame coordinates (``notes.clean_drawing``). A thread (a root
    comment) is resolved by setting ``resolved_at`` and ``resolved_by``; reopening clears them.
    """

    video = models.ForeignKey("videos_app.Video", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(max_length=5000)
    at_seconds = models.FloatField(null=True, blank=True)
    out_seconds = models.FloatField(null=True, blank=True)
    drawing = models.JSONField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mentions: models.ManyToManyField[AbstractUser, Comment] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} on {self.video_id}: {self.body[:40]}"


class StackApprover(models.Model):
    """Someone named to approve the versions of a stack (``permissions.can_approve``).

    Kept under the stack's key (``Video.stack_root``, ``permissions.stack_root_id``): every
    version of the stack, however it joined (a remix or extension, or added by hand), is
    approved by the people named for its shot, and they stay named when the stack's first
    video is deleted (no constraint: the key outlives it; the last version's delete takes
    them). A stack naming nobody is approved by its team's admins.
    """

    root = models.ForeignKey(
        "videos_app.Video",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approves"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["root", "user"], name="stack_approver_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} approves {self.root_id}"
