"""Make sure an admin account and a first team exist (used by ``make run`` on every start)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from videos_app.models import Team
from videos_app.teams.services import team_create


class Command(BaseCommand):
    help = (
        "Create the first admin account if no superuser exists. Reads STUDIO_ADMIN_USERNAME "
        "and STUDIO_ADMIN_PASSWORD; without a password, one is generated and printed once. "
        "With no team yet, also create the team 'Studio' with the admin as its admin."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        if admin is not None:
            self.stdout.write("An admin account already exists.")
            self._ensure_team(admin)
            return
        username = os.environ.get("STUDIO_ADMIN_USERNAME") or "admin"
        password = os.environ.get("STUDIO_ADMIN_PASSWORD") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    "\n  Created the admin account. Sign in at "
                    f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/login/\n"
                    f"    username: {username}\n    password: {password}\n"
                    "  This password is shown only once.\n"
                )
            )
        else:
            self.stdout.write(f"Created the admin account {username!r}.")
        self._ensure_team(admin)

    def _ensure_team(self, admin: Any) -> None:
        """A fresh install's first team, so the admin's videos have a team to go to."""
        if Team.objects.exists():
            return
        team_create(name="Studio", slug="studio", admin=admin)
        self.stdout.write(f"Created the team 'Studio' with {admin.get_username()!r} as its admin.")
