"""The gallery's filters, search, sorts, fragments and query counts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_user, make_video
from videos_app import search, selectors
from videos_app.forms import GalleryFilterForm
from videos_app.models import Favorite, Membership, Team, Video

pytestmark = pytest.mark.django_db

GALLERY = "/"


def ids_in(body: str) -> list[str]:
    """The video ids of the cards on a page, in order."""
    return re.findall(r'<article class="card[^"]*" id="card-([^"]+)"', body)


def gallery_ids(client: Client, query: str = "", **headers: str) -> list[str]:
    response = client.get(GALLERY + ("?" + query if query else ""), headers=headers)
    assert response.status_code == 200
    return ids_in(response.content.decode())


def team_with(*members: AbstractUser, slug: str = "crew") -> Team:
    team = Team.objects.create(name=slug.title(), slug=slug)
    for member in members:
        Membership.objects.create(team=team, user=member, role="editor")
    return team


def at(days_ago: int, video: Video) -> Video:
    """Backdate a video (created_at is auto_now_add)."""
    when = timezone.now() - dt.timedelta(days=days_ago)
    Video.objects.filter(pk=video.pk).update(created_at=when)
    video.created_at = when
    return video


class TestFilters:
    def test_each_filter_narrows_the_grid_to_its_matches(
        self, client_in: Client, user: Any
    ) -> None:
        other = make_user("omar")
        team = team_with(user, other)
        a = make_video(user, status="completed", model="sora-2", size="720x1280", seconds=4)
        b = make_video(
            other,
            team=team,
            status="failed",
            model="sora-2-pro",
            size="1280x720",
            seconds=12,
            operation="remix",
            review_state="approved",
        )
        cases = {
            "creator=omar": [b.pk],
            "creator=maya": [a.pk],
            "team=crew": [b.pk],
            "status=completed": [a.pk],
            "status=failed": [b.pk],
            "model=sora-2-pro": [b.pk],
            "size=720x1280": [a.pk],
            "seconds=12": [b.pk],
            "operation=remix": [b.pk],
            "operation=create": [a.pk],
            "review=approved": [b.pk],
            "review=draft": [a.pk],
            "creator=omar&status=completed": [],
        }
        for query, expected in cases.items():
            assert gallery_ids(client_in, query) == expected, query

    def test_favorites_shows_only_my_favorites(self, client_in: Client, user: Any) -> None:
        other = make_user("omar")
        team_with(user, other)
        mine = make_video(user)
        theirs_fav = make_video(user)
        make_video(user)
        Favorite.objects.create(user=user, video=mine)
        Favorite.objects.create(user=other, video=theirs_fav)  # someone else's star
        assert gallery_ids(client_in, "favorites=1") == [mine.pk]
        assert gallery_ids(client_in, "favorites=on") == [mine.pk]

    def test_date_range_includes_both_whole_days(self, client_in: Client, user: Any) -> None:
        old = at(10, make_video(user))
        mid = at(5, make_video(user))
        new = at(0, make_video(user))
        today = timezone.localdate()
        frm = (today - dt.timedelta(days=5)).isoformat()
        to = (today - dt.timedelta(days=5)).isoformat()
        assert gallery_ids(client_in, f"from={frm}&to={to}") == [mid.pk]
        assert gallery_ids(client_in, f"from={frm}") == [new.pk, mid.pk]
        assert gallery_ids(client_in, f"to={to}") == [mid.pk, old.pk]

    def test_it_lists_only_videos_the_user_may_see(self, client_in: Client, user: Any) -> None:
        stranger = make_user("stranger")
        hidden = make_video(stranger, prompt="a lighthouse nobody else may see")
        mine = make_video(user)
        assert gallery_ids(client_in) == [mine.pk]
        assert hidden.pk not in gallery_ids(client_in, "q=lighthouse")
        assert gallery_ids(client_in, "creator=stranger") == []

    @pytest.mark.parametrize(
        "query",
        [
            "status=bogus",
            "seconds=7",
            "seconds=abc",
            "from=2026-13-45",
            "review=%00",
            "team=not a slug!",
            "team=nobody-here",
            "team=elsewhere",
            "sort=sideways",
            "size=1x1",
            "page=zzz",
            "q=%22%22%22",
        ],
    )
    def test_an_invalid_value_is_reported_and_ignored(
        self, client_in: Client, user: Any, query: str
    ) -> None:
        video = make_video(user)
        response = client_in.get(GALLERY + "?" + query)
        assert response.status_code == 200
        assert ids_in(response.content.decode()) == [video.pk]
        if not query.startswith("page="):
            assert "Some filters were ignored" in response.content.decode()

    def test_an_invalid_field_does_not_drop_the_valid_ones(
        self, client_in: Client, user: Any
    ) -> None:
        done = make_video(user, status="completed")
        make_video(user, status="failed")
        body = client_in.get(GALLERY + "?status=completed&seconds=999").content.decode()
        assert ids_in(body) == [done.pk]
        assert "Duration" in body.split("Some filters were ignored")[1]

    def test_a_team_i_am_not_in_is_named_in_the_error(self, client_in: Client, user: Any) -> None:
        Team.objects.create(name="Elsewhere", slug="elsewhere")
        body = client_in.get(GALLERY + "?team=elsewhere").content.decode()
        assert "You are not in a team “elsewhere”." in body

    def test_a_model_no_longer_routed_still_filters_and_shows_in_the_menu(
        self, client_in: Client, user: Any
    ) -> None:
        old = make_video(user, model="sora-1-retired")
        make_video(user, model="sora-2")
        body = client_in.get(GALLERY + "?model=sora-1-retired").content.decode()
        assert ids_in(body) == [old.pk] and "Some filters were ignored" not in body
        assert re.search(r'<option value="sora-1-retired" selected>', body)

    def test_an_end_date_before_the_start_is_an_error(self, client_in: Client) -> None:
        body = client_in.get(GALLERY + "?from=2026-05-02&to=2026-05-01").content.decode()
        assert "The end date is before the start date." in body


class TestSearch:
    @pytest.fixture
    def videos(self, user: Any) -> dict[str, Video]:
        return {
            "lighthouse": make_video(user, prompt="A lighthouse on a cliff at dusk, waves"),
            "city": make_video(user, prompt="A neon city at night, slow drift over towers"),
            "forest": make_video(user, prompt="Morning fog in a pine forest, birds flying"),
        }

    def test_it_finds_prompts_by_words(self, client_in: Client, videos: dict[str, Video]) -> None:
        assert gallery_ids(client_in, "q=lighthouse") == [videos["lighthouse"].pk]
        assert gallery_ids(client_in, "q=NEON+towers") == [videos["city"].pk]
        assert gallery_ids(client_in, "q=neon+forest") == []  # every word must match

    def test_it_stems_like_english(self, client_in: Client, videos: dict[str, Video]) -> None:
        assert gallery_ids(client_in, "q=lighthouses") == [videos["lighthouse"].pk]
        assert gallery_ids(client_in, "q=fly") == [videos["forest"].pk]

    def test_phrases_exclusions_and_or(self, client_in: Client, videos: dict[str, Video]) -> None:
        assert gallery_ids(client_in, 'q="neon city"') == [videos["city"].pk]
        assert gallery_ids(client_in, 'q="city neon"') == []
        assert set(gallery_ids(client_in, "q=lighthouse+or+forest")) == {
            videos["lighthouse"].pk,
            videos["forest"].pk,
        }
        # "or" binds looser than the implied "and", as in PostgreSQL's websearch syntax.
        assert set(gallery_ids(client_in, "q=lighthouse+or+neon+towers")) == {
            videos["lighthouse"].pk,
            videos["city"].pk,
        }
        assert gallery_ids(client_in, "q=lighthouse+or+neon+forest") == [videos["lighthouse"].pk]
        assert gallery_ids(client_in, "q=waves+-neon") == [videos["lighthouse"].pk]
        assert gallery_ids(client_in, "q=slow+-neon") == []
        assert set(gallery_ids(client_in, "q=-neon")) == {
            videos["lighthouse"].pk,
            videos["forest"].pk,
        }

    @pytest.mark.parametrize(
        "text",
        [
            '"unbalanced',
            "NEAR(city",
            "prompt:city",
            "city*",
            "AND OR NOT",
            "'; DROP TABLE videos_app_video; --",
            "^city",
            "c++ (x) {y} [z]",
            "ünïcödé 東京",
            "a" * 200,
        ],
    )
    def test_odd_input_never_crashes(
        self, client_in: Client, videos: dict[str, Video], text: str
    ) -> None:
        response = client_in.get(GALLERY, {"q": text})
        assert response.status_code == 200
        assert Video.objects.count() == 3

    def test_a_search_without_words_is_an_error(self, client_in: Client, videos: Any) -> None:
        body = client_in.get(GALLERY, {"q": "!!! ***"}).content.decode()
        assert "Search for at least one word" in body
        assert len(ids_in(body)) == 3

    def test_the_index_follows_edits_and_deletes(
        self, client_in: Client, videos: dict[str, Video]
    ) -> None:
        city = videos["city"]
        Video.objects.filter(pk=city.pk).update(prompt="A quiet harbour at noon")
        assert gallery_ids(client_in, "q=neon") == []
        assert gallery_ids(client_in, "q=harbour") == [city.pk]
        videos["lighthouse"].delete()
        assert gallery_ids(client_in, "q=lighthouse") == []
        fresh = make_video(videos["forest"].owner, prompt="A lighthouse again")
        assert gallery_ids(client_in, "q=lighthouse") == [fresh.pk]

    def test_search_combines_with_filters(self, client_in: Client, user: Any) -> None:
        done = make_video(user, prompt="red balloon over a field", status="completed")
        make_video(user, prompt="red balloon in a storm", status="failed")
        assert gallery_ids(client_in, "q=balloon&status=completed") == [done.pk]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 query builder")
class TestFts5Queries:
    def test_words_are_quoted_and_punctuation_dropped(self) -> None:
        assert search.fts5_clauses('neon "city at" -dusk NEAR(x') == [
            ('"neon" AND "city at" AND "NEAR x"', '"dusk"')
        ]

    def test_or_binds_looser_than_and(self) -> None:
        assert search.fts5_clauses("a or b c") == [('"a"', ""), ('"b" AND "c"', "")]
        assert search.fts5_clauses("or a or or -b") == [('"a"', ""), ("", '"b"')]
        assert search.fts5_clauses("!!! ***") == []

    def test_a_search_works_inside_a_subquery(self, user: Any) -> None:
        zebra = make_video(user, prompt="zebra crossing")
        make_video(user, prompt="pelican crossing")
        found = search.filter_prompts(Video.objects.all(), "zebra or -crossing")
        assert list(Video.objects.filter(pk__in=found)) == [zebra]
        assert list(found) == [zebra]

    def test_the_repair_rebuilds_a_dropped_index(self, user: Any) -> None:
        video = make_video(user, prompt="zebra crossing")
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER video_fts_update")
            cursor.execute("DELETE FROM video_prompt_fts")
        search.ensure_sqlite_index(connection)
        assert list(search.filter_prompts(Video.objects.all(), "zebra")) == [video]


class TestSorts:
    def test_each_sort_orders_the_grid(self, client_in: Client, user: Any) -> None:
        short_old = at(3, make_video(user, seconds=4))
        long_mid = at(2, make_video(user, seconds=20))
        mid_new = at(1, make_video(user, seconds=12))
        Video.objects.filter(pk=short_old.pk).update(review_changed_at=timezone.now())
        Video.objects.filter(pk=mid_new.pk).update(
            review_changed_at=timezone.now() - dt.timedelta(hours=1)
        )
        expected = {
            "": [mid_new.pk, long_mid.pk, short_old.pk],
            "sort=newest": [mid_new.pk, long_mid.pk, short_old.pk],
            "sort=oldest": [short_old.pk, long_mid.pk, mid_new.pk],
            "sort=longest": [long_mid.pk, mid_new.pk, short_old.pk],
            "sort=shortest": [short_old.pk, mid_new.pk, long_mid.pk],
            "sort=reviewed": [short_old.pk, mid_new.pk, long_mid.pk],
        }
        for query, order in expected.items():
            assert gallery_ids(client_in, query) == order, query


class TestPageAndFragment:
    def test_the_full_page_has_the_filter_bar_wired_to_htmx(
        self, client_in: Client, user: Any
    ) -> None:
        make_video(user)
        response = client_in.get(GALLERY + "?status=completed")
        body = response.content.decode()
        assert "<html" in body
        form = body.split('id="gallery-filters"')[1].split(">")[0]
        assert 'method="get"' in form and 'hx-target="#gallery-results"' in form
        assert 'hx-push-url="true"' in form and "delay:" in form and "[" not in form
        assert 'id="gallery-results"' in body
        assert '<option value="completed" selected>' in body
        assert "HX-Request" in response["Vary"]

    def test_the_filters_unfold_when_one_is_set(self, client_in: Client) -> None:
        folded = client_in.get(GALLERY + "?q=neon&sort=oldest").content.decode()
        assert '<details class="filters__more">' in folded
        unfolded = client_in.get(GALLERY + "?status=failed&review=draft").content.decode()
        assert '<details class="filters__more" open>' in unfolded
        assert "Filters · 2 set" in unfolded

    def test_an_htmx_request_gets_only_the_results(self, client_in: Client, user: Any) -> None:
        video = make_video(user)
        response = client_in.get(GALLERY + "?q=lighthouse", headers={"HX-Request": "true"})
        body = response.content.decode()
        assert response.status_code == 200
        assert body.lstrip().startswith('<div id="gallery-results"')
        assert "<html" not in body and 'id="gallery-filters"' not in body
        assert ids_in(body) == [video.pk]
        assert "1 video matches" in " ".join(body.split())

    def test_a_history_restore_gets_the_whole_page(self, client_in: Client, user: Any) -> None:
        make_video(user)
        headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
        body = client_in.get(GALLERY + "?q=lighthouse", headers=headers).content.decode()
        assert "<html" in body and 'id="gallery-filters"' in body

    def test_the_pager_keeps_the_filters(self, client_in: Client, user: Any) -> None:
        for _ in range(26):
            make_video(user, status="completed")
        make_video(user, status="failed")
        body = client_in.get(GALLERY + "?status=completed&model=").content.decode()
        assert "26 videos match" in " ".join(body.split())
        nxt = body.split('rel="next"')[0].rsplit("<a ", 1)[1]
        assert 'href="?status=completed&amp;page=2"' in nxt
        assert 'hx-get="?status=completed&amp;page=2"' in nxt
        page2 = client_in.get(GALLERY + "?status=completed&page=2").content.decode()
        assert len(ids_in(page2)) == 2

    def test_no_match_says_what_to_do(self, client_in: Client, user: Any) -> None:
        make_video(user)
        body = client_in.get(GALLERY + "?q=submarine").content.decode()
        assert "No videos match" in body and "Clear filters" in body
        assert "No videos yet" not in body
        empty = Client()
        empty.force_login(make_user("newcomer"))
        assert "No videos yet" in empty.get(GALLERY).content.decode()

    def test_selection_and_export_links(self, client_in: Client, user: Any) -> None:
        done = make_video(user, status="completed")
        body = client_in.get(GALLERY + "?status=completed").content.decode()
        assert f'name="v" value="{done.pk}" form="gallery-selection"' in body
        assert f'formaction="{reverse("videos:compare")}"' in body
        assert f'formaction="{reverse("videos:export")}"' in body
        assert f'href="{reverse("videos:export")}?status=completed"' in body

    def test_a_card_carries_its_spritesheet_grid_and_badges(
        self, client_in: Client, user: Any
    ) -> None:
        team = team_with(user)
        video = make_video(
            user,
            team=team,
            status="completed",
            seconds=8,
            review_state="in_review",
            thumbnail_file="videos/x/thumbnail.webp",
            spritesheet_file="videos/x/spritesheet.jpg",
        )
        card = client_in.get(GALLERY).content.decode().split(f'id="card-{video.pk}"')[1]
        card = card.split("</article>")[0]
        sprite = reverse("videos:media", args=[video.pk, "spritesheet"])
        assert f'data-sprite="{sprite}"' in card
        assert 'data-sprite-cols="5" data-sprite-rows="5"' in card
        assert f'data-video="{reverse("videos:media", args=[video.pk, "video"])}"' in card
        assert 'loading="lazy"' in card and "8s" in card
        assert "Needs review" in card and team.name in card and "maya" in card

    def test_the_favorite_star_shows_my_favorites(self, client_in: Client, user: Any) -> None:
        starred = make_video(user)
        plain = make_video(user)
        Favorite.objects.create(user=user, video=starred)
        body = client_in.get(GALLERY).content.decode()

        def card(video: Video) -> str:
            return body.split(f'id="card-{video.pk}"')[1].split("</article>")[0]

        assert 'aria-pressed="true"' in card(starred)
        assert 'aria-pressed="false"' in card(plain)

    def test_it_needs_a_sign_in(self, client: Client) -> None:
        response = client.get(GALLERY + "?q=x")
        assert response.status_code == 302 and "/login/" in response["Location"]


class TestQueryCounts:
    QUERIES = [
        "",
        "q=lighthouse&status=completed&sort=longest",
        "favorites=1&team=crew&review=draft&from=2020-01-01&to=2099-01-01",
        "creator=maya&model=sora-2&size=720x1280&seconds=4&operation=create&sort=reviewed",
    ]

    def _count(self, client: Client, query: str, **headers: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(GALLERY + "?" + query, headers=headers).status_code == 200
        return len(ctx)

    def test_queries_per_page_stay_constant_as_the_gallery_grows(
        self, client_in: Client, user: Any
    ) -> None:
        other = make_user("omar")
        team = team_with(user, other)

        def add(n: int) -> None:
            for i in range(n):
                video = make_video(
                    user if i % 2 else other,
                    team=team,
                    status="completed",
                    prompt=f"a lighthouse number {i}",
                    thumbnail_file="videos/x/thumbnail.webp",
                    spritesheet_file="videos/x/spritesheet.jpg",
                )
                if i % 3 == 0:
                    Favorite.objects.create(user=user, video=video)

        add(10)
        self._count(client_in, "")  # the first request also reads the session's user
        small = {q: (self._count(client_in, q), self._count(client_in, q, **{"HX-Request": "true"}))
                 for q in self.QUERIES}  # fmt: skip
        add(190)
        large = {q: (self._count(client_in, q), self._count(client_in, q, **{"HX-Request": "true"}))
                 for q in self.QUERIES}  # fmt: skip
        assert small == large
        for full, fragment in large.values():
            # The fragment skips the filter bar's menus (teams, models).
            assert full <= 7 and fragment < full

    def test_the_selector_reads_a_page_in_one_query(self, user: Any) -> None:
        for _ in range(5):
            make_video(user)
        form = GalleryFilterForm({"q": "lighthouse", "sort": "oldest"})
        assert form.is_valid()
        videos = selectors.video_gallery(user=user, filters=form.cleaned_data)
        with CaptureQueriesContext(connection) as ctx:
            page = list(videos[:24])
            _ = [(v.owner.username, v.team, v.is_favorite) for v in page]
        assert len(page) == 5 and len(ctx) == 1


class TestProgressCards:
    def _poll(self, client: Client, videos: list[Video]) -> tuple[str, int]:
        ids = ",".join(v.pk for v in videos)
        url = reverse("videos:gallery_progress") + f"?ids={ids}&n=1"
        headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/?status=queued"}
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(url, headers=headers).content.decode()
        return body, len(ctx)

    def test_the_poll_sends_whole_cards_in_constant_queries(
        self, client_in: Client, user: Any
    ) -> None:
        team = team_with(user)
        running = [make_video(user, team=team, status="in_progress") for _ in range(25)]
        Favorite.objects.create(user=user, video=running[0])
        self._poll(client_in, running[:1])  # warm: the session's user
        _, few = self._poll(client_in, running[:2])
        body, many = self._poll(client_in, running)
        assert few == many
        first = body.split(f'id="card-{running[0].pk}"')[1].split("</article>")[0]
        assert 'aria-pressed="true"' in first and team.name in first
        assert 'name="next" value="/?status=queued"' in first
