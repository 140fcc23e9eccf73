"""API keys: made, checked and revoked here, and nowhere else.

A key is ``sk-studio-<prefix>-<secret>``. The prefix is stored in clear and indexed, so a
check is one lookup; the secret is stored only as HMAC-SHA256 keyed with a key derived
from SECRET_KEY, and compared in constant time. A check costs microseconds, unlike a
password hash (about 380 ms here). Rotating SECRET_KEY invalidates every key unless the
old one stays in SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

import hmac
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from videos_app.models import ApiKey

KEY_PREFIX = "sk-studio-"
PREFIX_LENGTH = 12
SECRET_LENGTH = 40
# last_used_at is written at most this often per key: not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_HMAC_SALT = "videos_app.api.keys.secret"
_ALPHABET = string.ascii_letters + string.digits
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def secret_hash(secret: str, *, signing_key: str | None = None) -> str:
    return salted_hmac(
        _HMAC_SALT, secret, secret=signing_key or settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def key_parse(raw: str) -> tuple[str, str] | None:
    """The (prefix, secret) of a well-formed key, else None."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = raw[len(KEY_PREFIX) :].partition("-")
    if not sep or len(prefix) != PREFIX_LENGTH or len(secret) != SECRET_LENGTH:
        return None
    return prefix, secret


def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """A new key for the user: the row, and the full key (shown once, never stored)."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    key = ApiKey.objects.create(
        user=user, name=name.strip()[:100], prefix=prefix, secret_hash=secret_hash(secret)
    )
    return key, f"{KEY_PREFIX}{prefix}-{secret}"


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key this string is, with its user loaded; None if unknown or revoked."""
    parsed = key_parse(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    try:
        key = ApiKey.objects.select_related("user").get(prefix=prefix)
    except ApiKey.DoesNotExist:
        return None
    if key.revoked_at is not None or not key.user.is_active:
        return None
    signing_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for signing_key in signing_keys:
        if hmac.compare_digest(key.secret_hash, secret_hash(secret, signing_key=signing_key)):
            return key
    return None


def api_key_touch(*, key: ApiKey) -> None:
    """Record that the key was used, writing at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    key.last_used_at = now
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


def api_key_revoke(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=key.revoked_at)


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"
    )
