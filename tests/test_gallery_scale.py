"""The gallery at any size: a bounded count, pages that stay put while videos are made,
the same queries at every size, and the usage line's maintained totals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import make_team, make_user, make_video
from videos_app import permissions, search, selectors
from videos_app.models import Favorite, Video
from videos_app.usage import selectors as usage
from videos_app.usage import totals
from videos_app.usage.selectors import UNPRICED

pytestmark = pytest.mark.django_db

GALLERY = "/"


def ids_in(body: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="card-([^"]+)"', body)


def words(body: str) -> str:
    return " ".join(body.split())


def asof_in(body: str) -> str:
    match = re.search(r"""hx-vals='\{"asof": "(\d+)"\}'""", body)
    assert match, "the pager carries no asof"
    return match[1]


def make_many(owner: Any, n: int, **kwargs: Any) -> list[Video]:
    return [make_video(owner, **kwargs) for _ in range(n)]


class TestBoundedCount:
    def test_past_the_bound_it_says_plus_and_pages_on_without_a_last_page(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(selectors, "GALLERY_COUNT_LIMIT", 30)
        make_many(user, 31)
        body = words(client_in.get(GALLERY).content.decode())
        assert "30+ videos" in body and "Export all 30+" in body
        assert "Page 1</span>" in body and "Page 1 of" not in body
        assert 'rel="next"' in body
        assert len(ids_in(body)) == 24

    def test_at_the_bound_the_count_is_exact(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(selectors, "GALLERY_COUNT_LIMIT", 30)
        make_many(user, 30)
        body = words(client_in.get(GALLERY + "?status=queued").content.decode())
        assert "30 videos match" in body and "Page 1 of 2" in body

    def test_a_filter_is_counted_against_the_bound_too(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(selectors, "GALLERY_COUNT_LIMIT", 3)
        make_many(user, 4, status="completed", prompt="a red balloon")
        make_many(user, 2, status="failed", prompt="a red balloon")
        assert "3+ videos match" in words(client_in.get(GALLERY + "?q=balloon").content.decode())
        fragment = client_in.get(GALLERY + "?status=failed", headers={"HX-Request": "true"})
        assert "2 videos match" in words(fragment.content.decode())

    def test_the_count_reads_at_most_the_bound_plus_one_rows(self, user: Any) -> None:
        make_many(user, 5)
        videos = selectors.video_gallery(user=user, filters={})
        with CaptureQueriesContext(connection) as ctx:
            page = selectors.gallery_page(videos, count_limit=2)
        assert page.count == 3 and page.count_is_bounded and page.count_text == "2+"
        queries = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("SET")]
        assert "COUNT(" in queries[0].upper() and "LIMIT 3" in queries[0]
        assert len(queries) == 2  # the count and the page

    @pytest.mark.services_only
    @pytest.mark.django_db(transaction=True)  # so that the count's transaction is its own
    def test_postgresql_counts_without_parallel_workers(self, user: Any) -> None:
        videos = selectors.video_gallery(user=user, filters={"q": "lighthouse"})
        with CaptureQueriesContext(connection) as ctx:
            selectors.gallery_page(videos)
        sql = [q["sql"] for q in ctx.captured_queries]
        at = sql.index("SET LOCAL max_parallel_workers_per_gather = 0")
        # The page is not a count (its stack cards count their versions in a subquery).
        assert sql[at + 1].startswith("SELECT COUNT(") and not sql[-1].startswith("SELECT COUNT(")
        with connection.cursor() as cursor:  # and only for the count's transaction
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] != "0"


class TestQueriesPerPage:
    CASES = ["", "status=completed", "q=lighthouse", "favorites=1", "page=2", "sort=reviewed"]

    def _queries(self, client: Client, query: str, **headers: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(GALLERY + "?" + query, headers=headers).status_code == 200
        return len(ctx)

    def test_they_are_the_same_below_and_past_the_bound(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(selectors, "GALLERY_COUNT_LIMIT", 40)
        make_many(user, 30, status="completed", cost_estimate=Decimal("0.5"))
        self._queries(client_in, "")  # the session and the user, read once
        small = {q: (self._queries(client_in, q), self._queries(client_in, q, HX_Request="true"))
                 for q in self.CASES}  # fmt: skip
        make_many(user, 60, status="completed", cost_estimate=Decimal("0.5"))
        large = {q: (self._queries(client_in, q), self._queries(client_in, q, HX_Request="true"))
                 for q in self.CASES}  # fmt: skip
        assert small == large
        assert all(full > fragment > 0 for full, fragment in large.values())

    def test_the_usage_line_reads_the_totals_not_the_videos(self, user: Any) -> None:
        make_many(user, 3, cost_estimate=Decimal("0.5"))
        with CaptureQueriesContext(connection) as ctx:
            usage.usage_summary(user=user)
        assert len(ctx) == 1
        assert "videos_app_videototal" in ctx.captured_queries[0]["sql"]
        assert '"videos_app_video"' not in ctx.captured_queries[0]["sql"]


class TestPagingWhileVideosAreMade:
    def test_pages_neither_repeat_nor_skip_a_video_made_meanwhile(
        self, client_in: Client, user: Any
    ) -> None:
        before = make_many(user, 60)
        expected = [v.pk for v in sorted(before, key=lambda v: (v.created_at, v.pk), reverse=True)]
        first = client_in.get(GALLERY).content.decode()
        asof = asof_in(first)
        seen = ids_in(first)
        made = make_many(user, 5)  # while the viewer reads page 1
        for n in (2, 3):
            body = client_in.get(
                GALLERY + f"?page={n}&asof={asof}", headers={"HX-Request": "true"}
            ).content.decode()
            assert asof_in(body) == asof  # the anchor rides on to the next page
            seen += ids_in(body)
            made.append(make_video(user))
        assert seen == expected
        assert "60 videos" in words(first)
        # Read afresh, the gallery shows them first.
        fresh = ids_in(client_in.get(GALLERY).content.decode())
        assert fresh[:7] == [v.pk for v in reversed(made)]

    def test_the_pager_links_keep_the_filters_and_drop_the_old_anchor(
        self, client_in: Client, user: Any
    ) -> None:
        make_many(user, 50, status="completed")
        asof = asof_in(client_in.get(GALLERY).content.decode())
        body = client_in.get(GALLERY + f"?status=completed&page=2&asof={asof}").content.decode()
        assert 'href="?status=completed&amp;page=3"' in body
        assert 'href="?status=completed&amp;page=1"' in body
        assert asof_in(body) == asof
        # An anchor before every video: nothing was made then.
        assert ids_in(client_in.get(GALLERY + "?asof=1").content.decode()) == []

    def test_an_anchor_in_the_future_or_garbled_means_now(
        self, client_in: Client, user: Any
    ) -> None:
        video = make_video(user)
        for asof in ("99999999999999999999", "abc", "-5x"):
            assert ids_in(client_in.get(GALLERY + f"?asof={asof}").content.decode()) == [video.pk]


def summed_directly(user: Any) -> tuple[int, Decimal, int, Decimal, int]:
    """The usage line's numbers the slow way: every visible video."""
    own = Q(owner_id=user.pk)
    t = permissions.videos_visible_to(user).aggregate(
        n=Count("pk"),
        c=Sum("cost_estimate"),
        own_n=Count("pk", filter=own),
        own_c=Sum("cost_estimate", filter=own),
        u=Count("pk", filter=UNPRICED),
    )
    return (t["n"], t["c"] or Decimal(0), t["own_n"], t["own_c"] or Decimal(0), t["u"])


def from_totals(user: Any) -> tuple[int, Decimal, int, Decimal, int]:
    s = usage.usage_summary(user=user)
    return (s.videos, s.cost, s.own_videos, s.own_cost, s.unpriced)


class TestUsageTotals:
    @pytest.fixture
    def people(self, user: Any) -> dict[str, Any]:
        mate, stranger = make_user("mate"), make_user("stranger")
        boss = make_user("boss", is_staff=True)
        team = make_team(members={user: "editor", mate: "viewer"})
        other = make_team(members={stranger: "admin"})
        return {"me": user, "mate": mate, "stranger": stranger, "boss": boss,
                "team": team, "other": other}  # fmt: skip

    def check(self, people: dict[str, Any]) -> None:
        for name in ("me", "mate", "stranger", "boss"):
            assert from_totals(people[name]) == summed_directly(people[name]), name

    def test_they_follow_every_write(self, people: dict[str, Any]) -> None:
        me, mate, team = people["me"], people["mate"], people["team"]
        self.check(people)
        a = make_video(me, cost_estimate=Decimal("0.40"), provider="gateway")
        b = make_video(mate, team=team, cost_estimate=Decimal("1.2345"), provider="gateway")
        c = make_video(mate, team=team, visibility="private", cost_estimate=Decimal("50"))
        d = make_video(me, team=team, cost_estimate=None, provider="gateway")  # unpriced
        make_video(people["stranger"], team=people["other"], cost_estimate=Decimal("99"))
        Video.objects.bulk_create(
            [
                Video(owner=me, team=team, prompt="x", cost_estimate=Decimal("0.01"))
                for _ in range(7)
            ]
        )
        self.check(people)
        assert from_totals(me)[1] == Decimal("0.40") + Decimal("1.2345") + Decimal("0.01") * 7

        # A job that fails before any provider took it drops its estimate (update()).
        Video.objects.filter(pk=b.pk).update(status="failed", cost_estimate=Decimal(0))
        self.check(people)
        # A price learnt later, a completion, a move between teams and visibilities.
        Video.objects.filter(pk=d.pk).update(cost_estimate=Decimal("2.50"), status="completed")
        c.visibility = "team"
        c.save()
        a.team = team
        a.visibility = "private"
        a.save(update_fields=["team", "visibility"])
        self.check(people)
        # Deletes, one and many.
        d.delete()
        Video.objects.filter(owner=me, cost_estimate=Decimal("0.01")).delete()
        self.check(people)
        assert from_totals(mate)[0] == 2  # b and c (now team-visible)

    def test_a_new_member_sees_the_teams_totals_at_once(self, people: dict[str, Any]) -> None:
        make_video(people["mate"], team=people["team"], cost_estimate=Decimal("3"))
        newcomer = make_user("newcomer")
        assert from_totals(newcomer)[0] == 0
        people["team"].memberships.create(user=newcomer, role="viewer")
        assert from_totals(newcomer) == summed_directly(newcomer)
        assert from_totals(newcomer)[1] == Decimal("3")

    @pytest.mark.embedded_only
    def test_lost_sqlite_triggers_are_put_back_and_the_totals_recounted(
        self, people: dict[str, Any]
    ) -> None:
        make_video(people["me"], cost_estimate=Decimal("1"))
        with connection.cursor() as cursor:
            for name in ("video_total_insert", "video_total_delete", "video_total_update"):
                cursor.execute(f"DROP TRIGGER {name}")
        make_video(people["me"], cost_estimate=Decimal("2"))  # not counted: no triggers
        assert from_totals(people["me"])[1] == Decimal("1")
        totals.ensure_sqlite_triggers(connection)
        assert from_totals(people["me"])[1] == Decimal("3")
        make_video(people["me"], cost_estimate=Decimal("4"))
        self.check(people)

    def test_the_gallery_shows_them(self, client_in: Client, people: dict[str, Any]) -> None:
        make_video(people["me"], cost_estimate=Decimal("0.40"), provider="gateway")
        make_video(people["mate"], team=people["team"], cost_estimate=Decimal("1.25"))
        body = client_in.get(GALLERY).content.decode()
        assert "Estimated cost of visible videos: <strong>$1.65</strong>" in body
        assert "yours: <strong>$0.40</strong>" in body


@pytest.mark.embedded_only
class TestCommonSearches:
    def test_a_common_word_walks_the_order_and_finds_the_same_pages(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for i in range(30):
            make_video(user, prompt=f"a lighthouse number {i}" if i % 3 else "a quiet harbour")
        rare = [ids_in(client_in.get(GALLERY + f"?q=lighthouse&page={n}").content.decode())
                for n in (1, 2)]  # fmt: skip
        monkeypatch.setattr(search, "COMMON_MATCHES", 5)
        body = client_in.get(GALLERY + "?q=lighthouse").content.decode()
        common = [
            ids_in(body),
            ids_in(client_in.get(GALLERY + "?q=lighthouse&page=2").content.decode()),
        ]
        assert common == rare and len(rare[0]) == 20 and rare[1] == rare[0]
        assert "20 videos match" in words(body)
        # The page walks the order (+rowid); its count starts from the matches.
        videos = selectors.video_gallery(user=user, filters={"q": "lighthouse"})
        with CaptureQueriesContext(connection) as ctx:
            selectors.gallery_page(videos)
        count_sql, page_sql = [q["sql"] for q in ctx.captured_queries][-2:]
        assert '+"videos_app_video".rowid IN' in page_sql
        assert "COUNT(" in count_sql and "+" not in count_sql


def star(user: Any, videos: list[Video]) -> None:
    Favorite.objects.bulk_create([Favorite(user=user, video=v) for v in videos])


def count_and_page_sql(user: Any, filters: dict[str, Any]) -> tuple[str, str]:
    videos = selectors.video_gallery(user=user, filters=filters)
    with CaptureQueriesContext(connection) as ctx:
        selectors.gallery_page(videos)
    count_sql, page_sql = [q["sql"] for q in ctx.captured_queries][-2:]
    return count_sql, page_sql


class TestFavoritesPages:
    def test_many_favorites_walk_the_order_and_find_the_same_pages(
        self, client_in: Client, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        mate = make_user("mate")
        team = make_team(members={user: "editor", mate: "editor"})
        videos = make_many(user, 45)
        hidden = make_video(mate, team=team, visibility="private")  # starred, not visible
        star(user, [v for i, v in enumerate(videos) if i % 3] + [hidden])
        star(mate, videos[::3])  # someone else's stars

        def gallery(n: int) -> str:
            return client_in.get(GALLERY + f"?favorites=1&page={n}").content.decode()

        def pages() -> list[str]:
            return [pk for n in (1, 2) for pk in ids_in(gallery(n))]

        few = pages()
        monkeypatch.setattr(selectors, "MANY_FAVORITES", 5)
        many, body = pages(), words(gallery(1))
        newest = sorted(videos, key=lambda v: (v.created_at, v.pk), reverse=True)
        assert many == few == [v.pk for v in newest if videos.index(v) % 3]
        assert "30 videos match" in body and "Page 1 of 2" in body

    def test_a_count_starts_from_the_favorites_and_a_page_of_many_walks_the_order(
        self, user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        star(user, make_many(user, 6))
        count_sql, page_sql = count_and_page_sql(user, {"favorites": True})
        if connection.vendor == "postgresql":
            assert "= ANY(ARRAY(SELECT video_id" in count_sql
        else:
            assert "IN (SELECT video_id" in count_sql
        assert "EXISTS (SELECT video_id" not in page_sql
        monkeypatch.setattr(selectors, "MANY_FAVORITES", 5)
        count_sql, page_sql = count_and_page_sql(user, {"favorites": True})
        assert "EXISTS (SELECT video_id" not in count_sql
        if connection.vendor == "sqlite":  # PostgreSQL's planner chooses for itself
            assert "EXISTS (SELECT video_id" in page_sql


@pytest.mark.embedded_only
class TestNarrowCounts:
    """A narrow filter's count reads an index that carries the visibility rule's columns,
    not each matching row (the gallery shows each stack's latest version: the copies of
    those indexes over the latest versions, ``video_latest_*``)."""

    def plan(self, sql: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return " | ".join(row[3] for row in cursor.fetchall())

    def test_review_state_and_operation(self, user: Any) -> None:
        make_many(user, 3, review_state="approved", operation="remix")
        count_sql, page_sql = count_and_page_sql(user, {"review": "approved", "operation": "remix"})
        assert "COVERING INDEX video_latest_review_op" in self.plan(count_sql)
        # The page walks the same index in its order: no sort.
        page_plan = self.plan(page_sql)
        assert "INDEX video_latest_review_op" in page_plan and "TEMP B-TREE" not in page_plan

    def test_favorites(self, user: Any) -> None:
        star(user, make_many(user, 3))
        with connection.cursor() as cursor:
            # SQLite prefers the primary key's index to it unless it has statistics.
            cursor.execute("ANALYZE")
        count_sql, _ = count_and_page_sql(user, {"favorites": True})
        assert "COVERING INDEX video_latest_visible" in self.plan(count_sql)
