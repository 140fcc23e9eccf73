"""The error pages are the studio's own (its nav, a way back, no leak); /v1 answers in its
envelope even when a request fails before reaching a view."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_team, make_user, make_video

pytestmark = pytest.mark.django_db


def signed_in(username: str) -> tuple[Client, object]:
    user = make_user(username)
    client = Client()
    client.force_login(user)
    return client, user


def test_an_outsider_gets_the_studios_404_page_without_the_videos_prompt() -> None:
    owner = make_user("owner")
    video = make_video(owner=owner, prompt="A secret lighthouse", team=make_team())
    client, _ = signed_in("outsider")
    response = client.get(f"/videos/{video.pk}")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Back to the gallery" in page
    assert 'href="/teams/"' in page  # the studio's nav, so the user is not stranded
    assert "lighthouse" not in page


def test_a_viewer_refused_an_action_gets_the_studios_403_page_with_the_reason() -> None:
    owner = make_user("owner")
    client, viewer = signed_in("viewer")
    team = make_team(members={owner: "admin", viewer: "viewer"})
    video = make_video(owner=owner, team=team)
    response = client.post(f"/videos/{video.pk}/delete")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only the video&#x27;s creator, an admin of its team or staff can delete it." in page
    assert "Back to the gallery" in page


def test_a_v1_request_refused_before_its_view_still_gets_the_envelope() -> None:
    # Django refuses the Host header in a middleware, before any /v1 view runs.
    response = Client().post("/v1/files", HTTP_HOST="nJ$|14X")
    assert response.status_code == 400
    assert response["content-type"] == "application/json"
    assert response["x-request-id"].startswith("req_")
    assert response.json() == {
        "error": {
            "message": "The request could not be read.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_request",
        }
    }


def test_a_page_refused_before_its_view_gets_djangos_page() -> None:
    response = Client().get("/videos", HTTP_HOST="nJ$|14X")
    assert response.status_code == 400
    assert response["content-type"].startswith("text/html")
    assert "x-request-id" not in response


def test_a_v1_request_that_breaks_a_middleware_gets_the_server_error_envelope(
    settings: object,
) -> None:
    settings.MIDDLEWARE = ["tests.test_error_pages.broken_middleware", *settings.MIDDLEWARE]  # type: ignore[attr-defined]
    client = Client(raise_request_exception=False)
    api = client.get("/v1/videos")
    assert api.status_code == 500
    assert api.json()["error"]["type"] == "server_error"
    assert api["x-request-id"].startswith("req_")
    page = client.get("/videos")
    assert page.status_code == 500
    assert page["content-type"].startswith("text/html")


def broken_middleware(get_response: object) -> object:
    def middleware(request: object) -> object:
        raise RuntimeError("a middleware broke")

    return middleware
