"""Version stacks: a video and what was derived from it (and videos added by hand) are one
stack; the gallery shows one card per stack in a constant number of queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import client_for, make_team, make_user, make_video, mp4_bytes
from videos_app import selectors, services
from videos_app.models import Video
from videos_app.stacks import services as stacks

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<article class="card[^"]*" id="card-([^"]+)"')


def completed(owner: Any, **kwargs: Any) -> Video:
    video = make_video(owner, status=Video.Status.COMPLETED, progress=100, **kwargs)
    video.video_file.save(f"videos/{video.pk}/video.mp4", ContentFile(mp4_bytes(1)))
    return video


def stack_of(video: Video) -> list[tuple[str, int, bool]]:
    """(id, number, latest) of each version of ``video``'s stack, in order."""
    video.refresh_from_db()
    rows = Video.objects.filter(stack_root_id=video.stack_root_id).order_by("stack_version")
    return list(rows.values_list("pk", "stack_version", "stack_latest"))


def words(body: str) -> str:
    return " ".join(body.split())


class TestStackedOnCreate:
    def test_a_new_video_is_a_stack_of_its_own(self, user: AbstractUser) -> None:
        video = make_video(user)
        assert stack_of(video) == [(video.pk, 1, True)]

    def test_remix_extend_and_edit_join_the_source_stack_as_its_next_versions(
        self, user: AbstractUser
    ) -> None:
        first = completed(user)
        remix = services.video_remix(owner=user, source=first, prompt="same, but at night")
        Video.objects.filter(pk=remix.pk).update(status="completed")
        remix.refresh_from_db()
        remix.video_file.save(f"videos/{remix.pk}/video.mp4", ContentFile(mp4_bytes(1)))
        extended = services.video_extend(owner=user, source=remix, prompt="on", segment_seconds=4)
        edited = make_video(user, source=extended, operation="edit")  # nested: v3's child
        assert stack_of(first) == [
            (first.pk, 1, False),
            (remix.pk, 2, False),
            (extended.pk, 3, False),
            (edited.pk, 4, True),
        ]

    def test_two_derivatives_of_one_source_are_both_versions(self, user: AbstractUser) -> None:
        first = make_video(user)
        a, b = make_video(user, source=first), make_video(user, source=first)
        assert stack_of(first) == [(first.pk, 1, False), (a.pk, 2, False), (b.pk, 3, True)]

    def test_deleting_the_latest_hands_the_card_to_the_version_before(
        self, user: AbstractUser
    ) -> None:
        first = make_video(user)
        second = make_video(user, source=first)
        services.video_remove(video=second)
        assert stack_of(first) == [(first.pk, 1, True)]

    def test_a_stack_keeps_its_key_when_its_first_video_is_deleted(
        self, user: AbstractUser
    ) -> None:
        first = make_video(user)
        second = make_video(user, source=first)
        services.video_remove(video=first)
        third = make_video(user, source=second)
        assert stack_of(second) == [(second.pk, 2, False), (third.pk, 3, True)]


class TestAddAndTakeOut:
    def test_an_added_video_is_the_newest_version_and_leaves_no_gap_behind(
        self, user: AbstractUser
    ) -> None:
        first = make_video(user)
        other = make_video(user)
        other_child = make_video(user, source=other)
        stacks.stack_add(user=user, video=other, into=first)
        assert stack_of(first) == [(first.pk, 1, False), (other.pk, 2, True)]
        # The stack it left is keyed by its first remaining version, numbered from 1.
        assert stack_of(other_child) == [(other_child.pk, 1, True)]

    def test_a_version_taken_out_becomes_its_own_stack(self, user: AbstractUser) -> None:
        first = make_video(user)
        second = make_video(user, source=first)
        third = make_video(user, source=second)
        stacks.stack_take_out(user=user, video=second)
        assert stack_of(second) == [(second.pk, 1, True)]
        assert stack_of(first) == [(first.pk, 1, False), (third.pk, 2, True)]

    def test_taking_out_the_latest_or_the_first_keeps_one_latest(self, user: AbstractUser) -> None:
        first = make_video(user)
        second = make_video(user, source=first)
        third = make_video(user, source=second)
        stacks.stack_take_out(user=user, video=third)
        assert stack_of(first) == [(first.pk, 1, False), (second.pk, 2, True)]
        stacks.stack_take_out(user=user, video=first)
        assert stack_of(second) == [(second.pk, 1, True)]
        assert stack_of(first) == [(first.pk, 1, True)]

    def test_a_video_alone_cannot_be_taken_out_nor_added_to_its_own_stack(
        self, user: AbstractUser
    ) -> None:
        first = make_video(user)
        with pytest.raises(ValidationError):
            stacks.stack_take_out(user=user, video=first)
        second = make_video(user, source=first)
        with pytest.raises(ValidationError):
            stacks.stack_add(user=user, video=second, into=first)

    def test_only_the_team_editors_change_its_stacks(self) -> None:
        editor, viewer = make_user(), make_user()
        team = make_team(members={editor: "editor", viewer: "viewer"})
        first, other = make_video(editor, team=team), make_video(editor, team=team)
        with pytest.raises(PermissionDenied):
            stacks.stack_add(user=viewer, video=other, into=first)
        stacks.stack_add(user=editor, video=other, into=first)
        with pytest.raises(PermissionDenied):
            stacks.stack_take_out(user=viewer, video=other)

    def test_a_stack_holds_one_team(self) -> None:
        editor = make_user()
        first = make_video(editor, team=make_team(members={editor: "editor"}))
        other = make_video(editor, team=make_team(members={editor: "editor"}))
        with pytest.raises(ValidationError):
            stacks.stack_add(user=editor, video=other, into=first)

    def test_the_page_forms_add_and_take_out(self, user: AbstractUser, client_in: Client) -> None:
        first, other = make_video(user), make_video(user)
        address = f"http://testserver/videos/{other.pk}"
        response = client_in.post(f"/videos/{first.pk}/stack/add", {"video": address})
        assert response.status_code == 302 and response["Location"] == f"/videos/{other.pk}"
        assert stack_of(first) == [(first.pk, 1, False), (other.pk, 2, True)]
        client_in.post(f"/videos/{other.pk}/stack/out")
        assert stack_of(other) == [(other.pk, 1, True)]

    def test_a_viewer_is_refused_and_an_outsider_gets_404(self) -> None:
        editor, viewer, outsider = make_user(), make_user(), make_user()
        team = make_team(members={editor: "editor", viewer: "viewer"})
        first, other = make_video(editor, team=team), make_video(editor, team=team)
        url = f"/videos/{first.pk}/stack/add"
        assert client_for(viewer).post(url, {"video": other.pk}).status_code == 403
        assert client_for(outsider).post(url, {"video": other.pk}).status_code == 404
        assert client_for(viewer).post(f"/videos/{first.pk}/stack/out").status_code == 403
        assert stack_of(first) == [(first.pk, 1, True)]


class TestGallery:
    def test_a_stack_is_one_card_the_latest_with_its_badge_title_and_subtitle(
        self, user: AbstractUser, client_in: Client
    ) -> None:
        first = make_video(user, prompt="a red kite over dunes")
        second = make_video(user, source=first, operation="remix", prompt="at dusk")
        third = make_video(user, source=second, operation="extend", prompt="it lands")
        alone = make_video(user, prompt="a quiet harbour")
        body = client_in.get("/").content.decode()
        assert CARD.findall(body) == [alone.pk, third.pk]
        card = words(body[body.index(f'id="card-{third.pk}"') :])
        assert "a red kite over dunes" in card and "v3 of 3" in card
        assert "Extended: it lands" in card
        assert f'href="/videos/{third.pk}#stack-versions"' in card
        assert "v1 of 1" not in words(body)

    def test_every_version_shows_each_with_its_number(
        self, user: AbstractUser, client_in: Client
    ) -> None:
        first = make_video(user)
        second = make_video(user, source=first)
        body = words(client_in.get("/?versions=1").content.decode())
        assert CARD.findall(body) == [second.pk, first.pk]
        assert "v1 of 2" in body and "v2 of 2" in body

    def test_filters_apply_to_the_card_video(self, user: AbstractUser, client_in: Client) -> None:
        first = make_video(user, status="completed")
        make_video(user, source=first, status="failed")
        assert CARD.findall(client_in.get("/?status=completed").content.decode()) == []
        every = client_in.get("/?status=completed&versions=1").content.decode()
        assert CARD.findall(every) == [first.pk]

    def test_the_page_takes_the_same_queries_with_stacks_as_without(
        self, user: AbstractUser, client_in: Client
    ) -> None:
        def queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client_in.get("/").status_code == 200
            return len(ctx.captured_queries)

        for _ in range(3):
            make_video(user)
        queries()  # the first request reads what later ones find cached
        alone = queries()
        for _ in range(30):
            root = make_video(user)
            for _ in range(3):
                root = make_video(user, source=root)
        assert queries() == alone

    def test_the_count_and_the_page_keep_their_plans(self, user: AbstractUser) -> None:
        make_video(user, source=make_video(user))
        latest, every = gallery_sql(user, versions=False), gallery_sql(user, versions=True)
        # The card's fields are the page's alone; the count only leaves buried versions out.
        assert "stack_latest" in latest[0] and "prompt" not in latest[0]
        if connection.vendor != "sqlite":
            return
        for with_stacks, without in zip(latest, every, strict=True):
            plan, before = sqlite_plan(with_stacks), sqlite_plan(without)
            # No index built on the fly, no sort or scan that every version's plan lacks.
            assert "AUTOMATIC" not in plan and plan.count("SCAN") <= before.count("SCAN")
            assert "TEMP B-TREE" not in plan or "TEMP B-TREE" in before


def gallery_sql(user: AbstractUser, *, versions: bool) -> list[str]:
    """The SQL of the gallery's count and page."""
    videos = selectors.video_gallery(user=user, filters={"versions": versions})
    with CaptureQueriesContext(connection) as ctx:
        selectors.gallery_page(videos)
    return [q["sql"] for q in ctx.captured_queries][-2:]


def sqlite_plan(sql: str) -> str:
    """SQLite's plan, its subqueries' numbers left out."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return re.sub(r"SUBQUERY \d+", "SUBQUERY", " | ".join(row[3] for row in cursor.fetchall()))


class TestVideoPage:
    def test_it_lists_the_versions_with_their_states_and_compares_two(
        self, user: AbstractUser, client_in: Client
    ) -> None:
        first = completed(user, review_state="approved")
        second = completed(user, source=first, operation="remix", prompt="at night")
        body = words(client_in.get(f"/videos/{second.pk}").content.decode())
        section = body[body.index('id="stack-versions"') :]
        assert "v2 of 2" in section
        assert (
            f'<a class="stack-versions__name" href="/videos/{first.pk}#stack-versions">v1</a>'
            in section
        )
        assert "Approved" in section and "Remixed: at night" in section
        assert 'action="/compare/"' in section and f'value="{first.pk}"' in section
        assert "Take v2 out of the stack" in section

    def test_a_viewer_sees_the_versions_but_no_tools(self) -> None:
        editor, viewer = make_user(), make_user()
        team = make_team(members={editor: "editor", viewer: "viewer"})
        first = make_video(editor, team=team)
        second = make_video(editor, team=team, source=first)
        body = client_for(viewer).get(f"/videos/{second.pk}").content.decode()
        assert 'id="stack-versions"' in body and "stack/add" not in body
        assert "Share this stack" not in body

    def test_an_editor_shares_the_whole_stack_as_one_link(self) -> None:
        from videos_app.sharing.models import ShareLink

        editor = make_user()
        team = make_team(members={editor: "editor"})
        first = completed(editor, team=team)
        second = completed(editor, team=team, source=first, operation="remix")
        running = make_video(editor, team=team, source=second, operation="extend")
        client = client_for(editor)
        body = client.get(f"/videos/{second.pk}").content.decode()
        share = re.search(r'href="(/shares/new\?[^"]*)">Share this stack</a>', body)
        assert share, "no share link for the stack"
        form = client.get(share.group(1).replace("&amp;", "&")).content.decode()
        chosen = re.findall(r'name="videos" value="([^"]+)"', form)
        assert sorted(chosen) == sorted([first.pk, second.pk])  # the finished versions
        assert running.pk not in form
        data = {"videos": chosen, "label": "", "expires": "30", "allow_comments": "on"}
        assert client.post("/shares/new", data).status_code == 200
        link = ShareLink.objects.get()
        assert sorted(link.videos.values_list("pk", flat=True)) == sorted(chosen)

    def test_a_private_version_of_someone_else_is_not_listed(self) -> None:
        editor, other = make_user(), make_user()
        team = make_team(members={editor: "editor", other: "editor"})
        first = make_video(editor, team=team)
        hidden = make_video(other, team=team, source=first, visibility="private")
        body = client_for(editor).get(f"/videos/{first.pk}").content.decode()
        assert hidden.pk not in body
