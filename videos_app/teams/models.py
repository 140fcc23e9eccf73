"""Teams and their members' roles (the rules they feed are in ``permissions.py``).

Imported by ``videos_app/models.py``, so these keep the app label ``videos_app`` and their
tables.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Team(models.Model):
    """A group of people who see and review each other's videos."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    # This calendar month's spend limit in US dollars (usage/budgets.py); None: no cap.
    monthly_cap = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members: models.ManyToManyField[AbstractUser, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"  # everything an editor can, plus members and deletion
        EDITOR = "editor", "Editor"  # create and review
        VIEWER = "viewer", "Viewer"  # watch and comment

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.EDITOR)
    # This member's own monthly limit within the team (US dollars); None: only the team's.
    monthly_cap = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class Invitation(models.Model):
    """An invitation into a team with a role: emailed to an address, or a bare link.

    The link carries a random token (256 bits); only its SHA-256 is stored, so the table
    cannot be used to join anyone. It works once: accepting, withdrawing and the expiry
    each end it (``teams/services.py``).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(
        max_length=8, choices=Membership.Role.choices, default=Membership.Role.VIEWER
    )
    email = models.EmailField(blank=True)  # blank: a link handed over by other means
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email or 'link'} to {self.team} ({self.role})"
