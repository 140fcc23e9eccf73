"""A user's time format: m:ss.t by default, timecode (hh:mm:ss:ff) when they choose it, on
the preferences page or with the comments' switch; comments, mentions and compare follow."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_team, make_user, make_video
from videos_app.models import Preferences
from videos_app.review.selectors import format_seconds
from videos_app.review.services import comment_create


@pytest.mark.parametrize(
    ("seconds", "clock", "timecode"),
    [
        (0, "0:00.0", "00:00:00:00"),
        (5.2, "0:05.2", "00:00:05:05"),
        (12.34, "0:12.3", "00:00:12:08"),
        (3725.5, "62:05.5", "01:02:05:12"),
        (1.999, "0:02.0", "00:00:02:00"),  # the last frame rounds up to the next second
    ],
)
def test_a_moment_reads_as_the_clock_or_as_timecode(
    seconds: float, clock: str, timecode: str
) -> None:
    assert format_seconds(seconds) == clock
    assert format_seconds(seconds, "clock") == clock
    assert format_seconds(seconds, "timecode") == timecode


@pytest.fixture
def commented(user: object) -> object:
    lee = make_user("lee")
    team = make_team(members={user: "editor", lee: "editor"})  # type: ignore[dict-item]
    video = make_video(owner=user, team=team, status="completed", seconds=8)
    comment_create(author=lee, video=video, body="the wave @maya", at_seconds=5.2)
    return video


def test_comments_read_as_the_clock_until_the_user_chooses_timecode(
    client_in: Client, user: object, commented: object
) -> None:
    url = commented.get_absolute_url()  # type: ignore[attr-defined]
    page = client_in.get(url).content.decode()
    assert 'data-time-format="clock"' in page
    assert ">0:05.2</a>" in page and "00:00:05:05" not in page
    assert "Show timecode</button>" in page

    # The comments' switch: one click, and back to the comments.
    response = client_in.post(
        "/account/preferences", {"time_format": "timecode", "next": f"{url}#comments"}
    )
    assert response.status_code == 302 and response["Location"] == f"{url}#comments"
    assert Preferences.objects.get(user=user).time_format == "timecode"
    page = client_in.get(url).content.decode()
    assert 'data-time-format="timecode" data-fps="24"' in page
    assert ">00:00:05:05</a>" in page and 'title="Go to 00:00:05:05 in the video"' in page
    assert "Show m:ss.t</button>" in page
    # Mentions read the same way.
    assert "at 00:00:05:05" in client_in.get("/mentions/").content.decode()


def test_the_preference_is_the_users_own(client_in: Client, commented: object) -> None:
    client_in.post("/account/preferences", {"time_format": "timecode"})
    other = make_user("ivan", is_staff=True)  # staff see every video
    client = Client()
    client.force_login(other)
    page = client.get(commented.get_absolute_url()).content.decode()  # type: ignore[attr-defined]
    assert ">0:05.2</a>" in page


def test_the_preferences_page_shows_and_saves_the_choice(client_in: Client, user: object) -> None:
    page = client_in.get("/account/preferences")
    assert page.status_code == 200
    assert 'value="clock" id="id_time_format_0" required checked' in page.content.decode()
    response = client_in.post("/account/preferences", {"time_format": "timecode"})
    assert response.status_code == 302 and response["Location"] == "/account/preferences"
    page = client_in.get("/account/preferences").content.decode()
    assert 'value="timecode" id="id_time_format_1" required checked' in page
    assert "Preferences saved." in page


def test_a_bad_choice_is_refused_and_changes_nothing(client_in: Client, user: object) -> None:
    response = client_in.post("/account/preferences", {"time_format": "frames"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Preferences.objects.filter(user=user).exists()


def test_it_goes_back_only_to_this_site(client_in: Client) -> None:
    response = client_in.post(
        "/account/preferences", {"time_format": "timecode", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/account/preferences"


def test_it_needs_a_signed_in_user(db: None) -> None:
    response = Client().post("/account/preferences", {"time_format": "timecode"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Preferences.objects.exists()


def test_compare_carries_the_users_time_format(client_in: Client, user: object) -> None:
    videos = [make_video(owner=user, status="completed") for _ in range(2)]
    client_in.post("/account/preferences", {"time_format": "timecode"})
    page = client_in.get("/compare/", {"v": [v.pk for v in videos]}).content.decode()
    assert 'id="compare" data-time-format="timecode" data-fps="24"' in page
