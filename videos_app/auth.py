"""Kept at its old path on purpose: a signed-in session stores its backend's dotted path
(``_auth_user_backend``), and Django signs out every session whose path is no longer in
``AUTHENTICATION_BACKENDS``. Moving the setting would sign everyone out once; the backend
itself lives in accounts/auth.py."""

from __future__ import annotations

from .accounts.auth import CachedModelBackend

__all__ = ["CachedModelBackend"]
