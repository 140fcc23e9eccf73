"""The account package: the cached authentication backend and the path sessions store."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db

# The dotted path every signed-in session stores (``_auth_user_backend``).
STORED_BACKEND = "videos_app.auth.CachedModelBackend"


def test_a_session_signed_in_under_the_stored_backend_path_stays_signed_in() -> None:
    assert STORED_BACKEND in settings.AUTHENTICATION_BACKENDS
    client = Client()
    client.force_login(make_user("maya"), backend=STORED_BACKEND)
    assert client.session["_auth_user_backend"] == STORED_BACKEND
    assert client.get(reverse("videos:gallery")).status_code == 200


def test_the_backend_drops_its_cached_user_when_the_user_is_saved() -> None:
    from django.core.cache import cache

    from videos_app.accounts.auth import CachedModelBackend, _key

    user = make_user("ivan")
    backend = CachedModelBackend()
    assert backend.get_user(user.pk) == user
    assert cache.get(_key(user.pk)) is not None
    user.is_active = False
    user.save()
    assert cache.get(_key(user.pk)) is None
    assert backend.get_user(user.pk) is None
