"""With the Redis cache unreachable, the studio works without it (sessions from the database)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tests.factories import make_user

pytestmark = pytest.mark.django_db

DOWN = {
    "default": {
        "BACKEND": "studio.cache.OutageTolerantRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@override_settings(CACHES=DOWN)
def test_signed_in_pages_keep_working_while_the_cache_is_down() -> None:
    client = Client()
    assert client.post("/login/", {"username": "x", "password": "y"}).status_code == 200
    user = make_user()
    client.force_login(user)  # the session is written to the database; the cache write fails
    response = client.get("/")
    assert response.status_code == 200
    assert user.username in response.content.decode()


@override_settings(CACHES=DOWN)
def test_an_unreachable_cache_answers_like_an_empty_one() -> None:
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    cache.set_many({"a": 1})
    assert "k" not in cache
    assert cache.incr("counter", 3) == 3  # a count that cannot be read starts again
    assert cache.delete("k") is False
    cache.delete_many(["a"])
