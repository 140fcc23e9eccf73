"""Password reset by email and changing one's own password."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

OLD, NEW = "the old password 1", "a brand new password 2"


def reset_link() -> str:
    (message,) = mail.outbox
    match = re.search(r"https?://[^/\s]+(/password-reset/[^\s]+)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_reset_link_by_email_sets_a_new_password_once() -> None:
    make_user("ana", email="ana@example.com", password=OLD)
    client = Client()
    page = client.get("/login/")
    assert 'href="/password-reset/"' in page.text
    response = client.post("/password-reset/", {"email": "ana@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent"
    assert "Check your email" in client.get("/password-reset/sent").text
    link = reset_link()
    assert "ana" in mail.outbox[0].body
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.text
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302 and response["Location"] == "/password-reset/done"
    assert _signs_in("ana", NEW)
    assert not _signs_in("ana", OLD)
    assert "no longer works" in Client().get(link, follow=True).text


def _signs_in(username: str, password: str) -> bool:
    response = Client().post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_email() -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent"
    assert mail.outbox == []


def test_a_signed_in_user_changes_their_password_and_other_sessions_end() -> None:
    user = make_user("bo", password=OLD)
    here, elsewhere = Client(), Client()
    here.force_login(user)
    elsewhere.force_login(user)
    assert "Change your password" in here.get("/account/password").text
    assert 'href="/account/password"' in here.get("/account/api-keys").text  # on phones too
    refused = here.post(
        "/account/password",
        {"old_password": "not it", "new_password1": NEW, "new_password2": NEW},
    )
    assert refused.status_code == 200 and "incorrectly" in refused.text
    response = here.post(
        "/account/password",
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302 and response["Location"] == "/account/password/changed"
    assert here.get("/").status_code == 200  # still signed in here
    assert elsewhere.get("/").status_code == 302  # signed out elsewhere
    assert _signs_in("bo", NEW) and not _signs_in("bo", OLD)


def test_the_change_page_asks_to_sign_in_first() -> None:
    response = Client().get("/account/password")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
