"""Server-rendered parts of the review's UI fixes: the presets page's note to viewers,
the cards' pick boxes (named after their video; running videos too) and what the
gallery's script reads to keep the Filters summary's count up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.urls import reverse

from tests.factories import client_for, make_user, make_video
from videos_app.models import Membership, Team, Video

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
PRESETS = reverse("videos:presets")


def note(html: str) -> str:
    """The text of the presets page's "New preset" panel when there is no form."""
    match = re.search(r"<h2>New preset</h2>\s*(.*?)</section>", html, re.S)
    assert match, html
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


class TestPresetsNote:
    def test_a_viewer_is_told_they_are_a_viewer_not_that_they_have_no_team(self) -> None:
        cy = make_user("cy")
        for name in ("Red", "Blue"):
            team = Team.objects.create(name=name, slug=name.lower())
            Membership.objects.create(team=team, user=cy, role="viewer")
        html = client_for(cy).get(PRESETS).content.decode()
        text = note(html)
        assert text == "You are a viewer in Blue, Red; only editors and admins save presets."
        assert "not in a team" not in text
        # The empty list does not ask them to save one either.
        assert "Your team's editors and admins have not saved any yet." in html
        assert "Save one here" not in html

    def test_someone_in_no_team_is_told_so(self) -> None:
        html = client_for(make_user("out")).get(PRESETS).content.decode()
        assert "You are not in a team yet." in note(html)
        assert "You are a viewer" not in html

    def test_an_editor_gets_the_form(self) -> None:
        ed = make_user("ed")
        team = Team.objects.create(name="Crew", slug="crew")
        Membership.objects.create(team=team, user=ed, role="editor")
        html = client_for(ed).get(PRESETS).content.decode()
        assert "Save preset" in html and "You are a viewer" not in html
        assert "not in a team yet" not in html


class TestPickBoxes:
    def test_each_box_is_named_after_its_video_and_running_videos_have_one(
        self, client_in: Client, user: AbstractUser
    ) -> None:
        long = "a slow drift over a neon city at night with rain on every window " * 3
        done = make_video(user, status=Video.Status.COMPLETED, prompt=long)
        other = make_video(user, status=Video.Status.COMPLETED, prompt="a red kite")
        queued = make_video(user, status=Video.Status.QUEUED, prompt="a queued harbour")
        running = make_video(user, status=Video.Status.IN_PROGRESS, prompt="a running fox")
        failed = make_video(user, status=Video.Status.FAILED, prompt="a failed boat")
        html = client_in.get("/").content.decode()
        boxes = re.findall(r'(<input type="checkbox" name="v" value="([^"]+)"[^>]*>)', html)
        tags = {vid: tag for tag, vid in boxes}
        assert set(tags) == {done.pk, other.pk, queued.pk, running.pk}  # not the failed one
        assert failed.pk not in tags
        labels = {vid: re.findall(r'aria-label="([^"]*)"', tag)[0] for vid, tag in tags.items()}
        assert labels[other.pk] == "Select for compare or download: a red kite"
        assert labels[done.pk].startswith("Select for compare or download: a slow drift over")
        assert labels[done.pk].endswith("…") and len(labels[done.pk]) < 100  # truncated
        assert labels[queued.pk] == "Select for download: a queued harbour"
        assert labels[running.pk] == "Select for download: a running fox"
        assert len(set(labels.values())) == 4  # every name differs
        assert "data-unfinished" in tags[queued.pk] and "data-unfinished" in tags[running.pk]
        assert "data-unfinished" not in tags[done.pk]

    def test_a_card_the_progress_poll_swaps_in_keeps_its_box(
        self, client_in: Client, user: AbstractUser
    ) -> None:
        running = make_video(user, status=Video.Status.IN_PROGRESS, prompt="a running fox")
        url = reverse("videos:gallery_progress") + f"?ids={running.pk}"
        html = client_in.get(url, headers={"HX-Request": "true"}).content.decode()
        assert f'name="v" value="{running.pk}" form="gallery-selection" data-unfinished' in html


class TestFilterCount:
    def test_the_results_carry_the_number_of_filters_set(
        self, client_in: Client, user: AbstractUser
    ) -> None:
        make_video(user, status=Video.Status.COMPLETED)
        page = client_in.get("/?status=completed&size=1280x720&sort=oldest").content.decode()
        assert '<summary class="filters__summary" id="filters-summary">Filters · 2 set<' in page
        assert 'data-active-filters="2"' in page
        fragment = client_in.get(
            "/?status=completed&sort=oldest", headers={"HX-Request": "true"}
        ).content.decode()
        assert "filters-summary" not in fragment  # outside the fragment: gallery.js updates it
        assert 'data-active-filters="1"' in fragment  # the sort is not a filter
        plain = client_in.get("/").content.decode()
        assert 'id="filters-summary">Filters</summary>' in plain
        assert 'data-active-filters="0"' in plain


def test_the_selection_form_takes_no_room_in_the_results_bar() -> None:
    css = (ROOT / "static/studio/gallery.css").read_text()
    assert re.search(r"#gallery-selection\s*\{\s*display:\s*none;", css)
