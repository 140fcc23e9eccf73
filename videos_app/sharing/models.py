"""Rows of sharing: links that show chosen videos to people outside the team, every use
of a link, and the comments its visitors leave.

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app``. The
video and team are named by string: this module must not import the core models.

A visitor's comment is its own row (``SharedComment``), not a ``Comment``: it has no
author account, the team's comments are never shown through a link, and the team's
threads, mentions and notifications stay about teammates only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ShareLink(models.Model):
    """A link to one or more videos. The link carries a random token (256 bits); only its
    SHA-256 is stored, so the table cannot be used to open a link. It works until it
    expires (``expires_at``; None: never) or is revoked."""

    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    # The team of every shared video (None: videos of their creator's own, in no team).
    team = models.ForeignKey(
        "videos_app.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    videos = models.ManyToManyField("videos_app.Video", related_name="share_links")
    # Django's password hash of the passphrase; blank: none asked.
    passphrase_hash = models.CharField(max_length=128, blank=True, default="")
    allow_comments = models.BooleanField(default=True)
    allow_download = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label


class ShareUse(models.Model):
    """One use of a link: when, what, from where (a keyed hash of the address, never the
    address itself) and with what browser (its user agent, cut short)."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        UNLOCKED = "unlocked", "Unlocked"
        REFUSED = "refused", "Wrong passphrase"
        COMMENTED = "commented", "Commented"
        DOWNLOADED = "downloaded", "Downloaded"

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="uses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    video = models.ForeignKey(
        "videos_app.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_hash = models.CharField(max_length=16)
    user_agent = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["link", "-created_at"], name="shareuse_link_newest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.link_id}"


class SharedComment(models.Model):
    """A comment left through a link by a visitor who gave a name (and maybe an email)."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="comments")
    video = models.ForeignKey(
        "videos_app.Video", on_delete=models.CASCADE, related_name="shared_comments"
    )
    guest_name = models.CharField(max_length=80)
    guest_email = models.EmailField(blank=True, default="")
    body = models.TextField(max_length=2000)
    at_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["video", "created_at"], name="sharedcomment_video")]

    def __str__(self) -> str:
        return f"{self.guest_name} on {self.video_id}: {self.body[:40]}"
