"""Management commands that make run and operators use."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.http import HttpRequest
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def sign_in() -> HttpRequest:
    """A sign-in request: authentication goes through the sign-in throttle, which needs one."""
    return RequestFactory().post("/login/")


def test_ensureadmin_uses_the_configured_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_ADMIN_USERNAME", "boss")
    monkeypatch.setenv("STUDIO_ADMIN_PASSWORD", "a long enough password")
    assert "Created the admin account 'boss'." in run("ensureadmin")
    user = authenticate(sign_in(), username="boss", password="a long enough password")
    assert user is not None and user.is_superuser and user.is_staff


def test_ensureadmin_prints_a_generated_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDIO_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("STUDIO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("PORT", "8123")
    first = run("ensureadmin")
    password = first.split("password: ")[1].split()[0]
    assert "http://127.0.0.1:8123/login/" in first
    assert authenticate(sign_in(), username="admin", password=password) is not None
    second = run("ensureadmin")
    assert "already exists" in second and password not in second
    assert get_user_model().objects.count() == 1
