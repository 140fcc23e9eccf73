"""The compare page: two to four finished videos, their settings and prompts diffed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.urls import reverse

from tests.factories import make_user, make_video
from videos_app import permissions
from videos_app.models import Membership, Team, Video
from videos_app.review.compare import DiffPart, compare_settings, prompt_diff

pytestmark = pytest.mark.django_db
DONE = Video.Status.COMPLETED


def compare_url(*ids: str) -> str:
    return reverse("videos:compare") + "?" + "&".join(f"v={i}" for i in ids)


@pytest.fixture
def maya() -> AbstractUser:
    return make_user("maya")


@pytest.fixture
def client_of(maya: AbstractUser) -> Client:
    client = Client()
    client.force_login(maya)
    return client


def finished(owner: AbstractUser, prompt: str, **kwargs: Any) -> Video:
    return make_video(owner, prompt=prompt, status=DONE, **kwargs)


class TestPromptDiff:
    def test_it_marks_added_and_removed_words(self) -> None:
        parts = prompt_diff("a red fox in the snow", "a grey fox in deep snow at dawn")
        assert parts == [
            DiffPart("same", "a"),
            DiffPart("del", "red"),
            DiffPart("ins", "grey"),
            DiffPart("same", "fox in"),
            DiffPart("del", "the"),
            DiffPart("ins", "deep"),
            DiffPart("same", "snow"),
            DiffPart("ins", "at dawn"),
        ]

    def test_equal_prompts_are_one_unchanged_part(self) -> None:
        assert prompt_diff("calm sea", "calm  sea") == [DiffPart("same", "calm sea")]


class TestSettings:
    def test_it_flags_rows_that_differ(self, maya: AbstractUser) -> None:
        a = finished(maya, "x", seed=1, size="1280x720", seconds=4)
        b = finished(maya, "y", seed=2, size="1280x720", seconds=8)
        rows = {row.label: row for row in compare_settings([a, b])}
        assert rows["Seed"].differs and rows["Seconds"].differs
        assert not rows["Size"].differs and not rows["Creator"].differs
        assert rows["Seed"].values == ["1", "2"]
        assert set(rows) >= {"Model", "Size", "Seconds", "Seed", "Operation", "Engine", "Creator"}
        assert rows["Review"].values == ["Draft", "Draft"]


class TestComparePage:
    def test_it_shows_the_players_and_the_diff(self, client_of: Client, maya: AbstractUser) -> None:
        a = finished(maya, "a red fox in the snow", seed=7, seconds=4)
        b = finished(maya, "a grey fox in the snow", seed=9, seconds=4)
        response = client_of.get(compare_url(a.pk, b.pk))
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count("data-compare-player") == 2
        for video in (a, b):
            assert reverse("videos:media", args=[video.pk, "video"]) in page
        assert "<del>red</del>" in page and "<ins>grey</ins>" in page
        # The seed row differs and video 2's value is highlighted; the seconds row does not.
        seed_row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Seed.*?</tr>", page, re.S)
        assert seed_row and "diff-table__row--differs" in seed_row.group(0)
        assert '<td class="diff-cell--changed">9</td>' in seed_row.group(0)
        seconds_row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Seconds.*?</tr>", page, re.S)
        assert seconds_row and "differs" not in seconds_row.group(0)
        assert 'src="/static/studio/compare.js"' in page and "nonce=" in page

    def test_four_is_the_most_in_order_each_once(
        self, client_of: Client, maya: AbstractUser
    ) -> None:
        videos = [finished(maya, f"scene {n}") for n in range(4)]
        ids = [v.pk for v in videos]
        response = client_of.get(compare_url(*ids, ids[0]))  # a repeat counts once
        assert response.status_code == 200
        page = response.content.decode()
        positions = [page.index(reverse("videos:media", args=[i, "video"])) for i in ids]
        assert positions == sorted(positions)
        assert "compare__grid--4" in page

    @pytest.mark.parametrize("count", [0, 1, 5])
    def test_too_few_or_too_many_is_a_clear_error(
        self, client_of: Client, maya: AbstractUser, count: int
    ) -> None:
        ids = [finished(maya, f"s{n}").pk for n in range(count)]
        response = client_of.get(compare_url(*ids))
        assert response.status_code == 400
        page = response.content.decode()
        assert f"Pick 2 to 4 videos to compare (you picked {count})." in page
        assert "data-compare-player" not in page

    def test_an_unknown_id_is_404(self, client_of: Client, maya: AbstractUser) -> None:
        a = finished(maya, "x")
        assert client_of.get(compare_url(a.pk, "video_nope")).status_code == 404

    def test_a_video_the_user_cannot_see_is_404(
        self, client_of: Client, maya: AbstractUser
    ) -> None:
        olga = make_user("olga")
        team = Team.objects.create(name="Crew", slug="crew")
        Membership.objects.create(team=team, user=maya, role="viewer")
        Membership.objects.create(team=team, user=olga, role="editor")
        permissions.forget_roles(maya)
        mine = finished(maya, "x")
        shared = finished(olga, "y", team=team)
        private = finished(olga, "z", team=team, visibility=Video.Visibility.PRIVATE)
        assert client_of.get(compare_url(mine.pk, shared.pk)).status_code == 200
        assert client_of.get(compare_url(mine.pk, private.pk)).status_code == 404
        assert client_of.get(compare_url(mine.pk, finished(olga, "w").pk)).status_code == 404

    def test_an_unfinished_video_is_refused(self, client_of: Client, maya: AbstractUser) -> None:
        a = finished(maya, "x")
        b = make_video(maya, status=Video.Status.IN_PROGRESS)
        response = client_of.get(compare_url(a.pk, b.pk))
        assert response.status_code == 400
        assert "Only finished videos can be compared" in response.content.decode()

    def test_it_needs_a_signed_in_user(self, client: Client, maya: AbstractUser) -> None:
        a, b = finished(maya, "x"), finished(maya, "y")
        response = client.get(compare_url(a.pk, b.pk))
        assert response.status_code == 302 and "/login/" in response["Location"]
