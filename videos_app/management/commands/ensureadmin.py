"""Make sure an admin account exists (used by ``make run`` on every start)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first admin account if no superuser exists. Reads STUDIO_ADMIN_USERNAME "
        "and STUDIO_ADMIN_PASSWORD; without a password, one is generated and printed once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account already exists.")
            return
        username = os.environ.get("STUDIO_ADMIN_USERNAME") or "admin"
        password = os.environ.get("STUDIO_ADMIN_PASSWORD") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
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
