"""The 404 and 403 pages are the studio's own: its nav, a way back, and no leak."""

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
