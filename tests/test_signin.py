"""Sign-in resists guessing: throttled per account and per address, hashing bounded."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from tests.api_helpers import make_key
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "the right password 1"


@pytest.fixture
def limit(settings: Any) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def sign_in(username: str, password: str, address: str = "10.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_after_the_limit_an_account_is_paused_even_for_the_right_password(limit: int) -> None:
    make_user("ana", password=PASSWORD)
    for n in range(limit - 1):
        response = sign_in("ana", f"wrong {n}", address=f"10.0.1.{n}")
        assert response.status_code == 200 and "correct username and password" in response.text
    response = sign_in("ana", "wrong again", address="10.0.1.99")
    assert response.status_code == 429
    assert "Sign-in paused" in response.text and "paused for 15 minutes" in response.text
    # From a new address too: the account is what is paused.
    assert sign_in("ana", PASSWORD, address="10.0.2.1").status_code == 429


def test_staff_lift_the_pause_and_the_right_password_works_again(limit: int) -> None:
    from axes.utils import reset

    make_user("ana", password=PASSWORD)
    for n in range(limit):
        sign_in("ana", f"wrong {n}")
    assert sign_in("ana", PASSWORD).status_code == 429
    assert reset(username="ana") >= 1  # what the admin's "delete access attempts" does
    reset(ip="10.0.0.1")
    response = sign_in("ana", PASSWORD)
    assert response.status_code == 302, response.text[:300]


def test_one_address_guessing_many_accounts_is_paused(limit: int) -> None:
    for n in range(limit):
        sign_in(f"guess{n}", "wrong")
    make_user("bo", password=PASSWORD)
    assert sign_in("bo", PASSWORD, address="10.0.0.1").status_code == 429
    assert sign_in("bo", PASSWORD, address="10.9.9.9").status_code == 302  # others may


def test_when_every_hashing_slot_is_busy_a_sign_in_is_told_to_retry_without_hashing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from videos_app.accounts import signin

    make_user("ana", password=PASSWORD)
    checked: list[str] = []

    def counting(password: str, encoded: str, *args: Any, **kwargs: Any) -> bool:
        checked.append(password)
        return check_password(password, encoded, *args, **kwargs)

    monkeypatch.setattr("django.contrib.auth.base_user.check_password", counting)
    held = 0
    while signin._hashing.acquire(blocking=False):
        held += 1
    try:
        response = sign_in("ana", PASSWORD)
        assert response.status_code == 429
        assert response["Retry-After"] == "5"
        assert signin.BUSY in response.text
        assert checked == []
    finally:
        for _ in range(held):
            signin._hashing.release()
    assert sign_in("ana", PASSWORD).status_code == 302
    assert checked == [PASSWORD]


def test_v1_refuses_an_address_that_keeps_presenting_wrong_keys(settings: Any) -> None:
    settings.STUDIO_API_AUTH_FAILURES_PER_MINUTE = 5
    key = make_key(make_user())  # type: ignore[arg-type]
    guesser = Client(REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer sk-studio-wrong")
    for _ in range(5):
        assert guesser.get("/v1/videos").status_code == 401
    refused = guesser.get("/v1/videos")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused["retry-after"]) >= 1
    # Even a right key from that address waits; other addresses are not affected.
    right = {"HTTP_AUTHORIZATION": f"Bearer {key.raw}"}
    assert Client(REMOTE_ADDR="10.0.0.7", **right).get("/v1/videos").status_code == 429
    assert Client(REMOTE_ADDR="10.0.0.8", **right).get("/v1/videos").status_code == 200
