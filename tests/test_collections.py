"""Collections and saved gallery filters (albums/): making, renaming, deleting, adding
and taking out; who sees and changes them; the gallery's collection filter and side bar;
a saved filter's round trip; and refused input saving nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import client_for, crew_cast, make_user, make_video
from videos_app import selectors
from videos_app.models import Collection, CollectionItem, SavedFilter, Team, Video

pytestmark = pytest.mark.django_db

GALLERY = reverse("videos:gallery")
SIDE = reverse("videos:gallery_side")


@pytest.fixture
def cast() -> dict[str, Any]:
    return crew_cast(["admin", "editor", "viewer", "outsider", "staff"], outsider="outsider")


@pytest.fixture
def crew() -> Team:
    return Team.objects.get(slug="crew")


def _crew_collection(cast: dict[str, Any], crew: Team, name: str = "Selects") -> Collection:
    return Collection.objects.create(team=crew, owner=cast["editor"], name=name)


def _crew_video(cast: dict[str, Any], crew: Team, **kwargs: Any) -> Video:
    return make_video(cast["editor"], team=crew, visibility="team", **kwargs)


def _card_ids(client: Client, query: str) -> set[str]:
    page = client.get(f"{GALLERY}?{query}")
    assert page.status_code == 200
    return {video.pk for video in page.context["page"].object_list}


class TestCollections:
    def test_an_editor_makes_a_team_collection_and_lands_on_it(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        response = client_for(cast["editor"]).post(
            reverse("videos:collection_new"), {"name": " Selects ", "team": crew.pk}
        )
        collection = Collection.objects.get()
        assert (collection.name, collection.team, collection.owner) == (
            "Selects", crew, cast["editor"]
        )  # fmt: skip
        assert response["Location"] == f"{GALLERY}?collection={collection.pk}"

    def test_anyone_makes_a_personal_collection(self, cast: dict[str, Any]) -> None:
        client_for(cast["viewer"]).post(reverse("videos:collection_new"), {"name": "Mine"})
        assert Collection.objects.get().team is None

    def test_a_viewer_cannot_make_one_in_the_team(self, cast: dict[str, Any], crew: Team) -> None:
        response = client_for(cast["viewer"]).post(
            reverse("videos:collection_new"), {"name": "Selects", "team": crew.pk}
        )
        assert response.status_code == 400  # the team is not among the form's choices
        assert not Collection.objects.exists()

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_a_bad_name_is_a_form_error_and_nothing_is_saved(
        self, cast: dict[str, Any], name: str
    ) -> None:
        response = client_for(cast["editor"]).post(reverse("videos:collection_new"), {"name": name})
        assert response.status_code == 400
        assert response.context["form"].errors["name"]
        assert not Collection.objects.exists()

    def test_a_name_used_in_the_team_is_a_form_error(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        _crew_collection(cast, crew)
        response = client_for(cast["admin"]).post(
            reverse("videos:collection_new"), {"name": "Selects", "team": crew.pk}
        )
        assert response.status_code == 400
        assert "already has a collection named" in str(response.context["form"].errors["name"])
        assert Collection.objects.count() == 1

    def test_rename(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        url = reverse("videos:collection_rename", args=[collection.pk])
        assert client_for(cast["admin"]).post(url, {"name": "Finals"}).status_code == 302
        collection.refresh_from_db()
        assert collection.name == "Finals"
        assert client_for(cast["admin"]).post(url, {"name": ""}).status_code == 400

    def test_delete_asks_then_deletes_and_the_videos_stay(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        video = _crew_video(cast, crew)
        CollectionItem.objects.create(
            collection=collection, video=video, video_created_at=video.created_at
        )
        url = reverse("videos:collection_delete", args=[collection.pk])
        client = client_for(cast["editor"])
        assert "1 video stays" in client.get(url).content.decode()
        assert client.post(url).status_code == 302
        assert not Collection.objects.exists() and not CollectionItem.objects.exists()
        assert Video.objects.filter(pk=video.pk).exists()

    def test_add_from_the_selection_then_remove(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        first, second = _crew_video(cast, crew), _crew_video(cast, crew)
        client = client_for(cast["editor"])
        ask = client.get(reverse("videos:collection_add"), {"selection": 1, "v": [first.pk]})
        assert ask.status_code == 200 and "Selects" in ask.content.decode()
        add = reverse("videos:collection_add")
        client.post(add, {"collection": collection.pk, "v": [first.pk, second.pk]})
        client.post(add, {"collection": collection.pk, "v": [first.pk]})  # already in: once
        assert set(collection.items.values_list("video_id", flat=True)) == {first.pk, second.pk}
        remove = reverse("videos:collection_remove", args=[collection.pk])
        assert client.get(remove, {"v": [first.pk]}).status_code == 200
        client.post(remove, {"v": [first.pk]})
        assert list(collection.items.values_list("video_id", flat=True)) == [second.pk]
        assert Video.objects.filter(pk=first.pk).exists()

    def test_the_video_page_offers_it(self, cast: dict[str, Any], crew: Team) -> None:
        video = _crew_video(cast, crew)
        page = client_for(cast["editor"]).get(video.get_absolute_url()).content.decode()
        assert f"{reverse('videos:collection_add')}?v={video.pk}" in page

    def test_a_team_collection_takes_only_that_teams_videos(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        own = make_video(cast["editor"])  # no team
        client_for(cast["editor"]).post(
            reverse("videos:collection_add"), {"collection": collection.pk, "v": [own.pk]}
        )
        assert not collection.items.exists()

    def test_nobody_adds_a_video_they_cannot_see(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        private = make_video(cast["admin"], team=crew, visibility="private")
        client_for(cast["editor"]).post(
            reverse("videos:collection_add"), {"collection": collection.pk, "v": [private.pk]}
        )
        assert not collection.items.exists()


class TestPermissions:
    def _urls(self, collection: Collection) -> dict[str, str]:
        return {
            "rename": reverse("videos:collection_rename", args=[collection.pk]),
            "delete": reverse("videos:collection_delete", args=[collection.pk]),
            "remove": reverse("videos:collection_remove", args=[collection.pk]),
        }

    def test_a_viewer_sees_the_collection_but_changes_nothing(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        video = _crew_video(cast, crew)
        client = client_for(cast["viewer"])
        assert "Selects" in client.get(SIDE).content.decode()
        for url in self._urls(collection).values():
            assert client.post(url, {"name": "Mine", "v": [video.pk]}).status_code == 403
        assert client.get(self._urls(collection)["delete"]).status_code == 403
        response = client.post(
            reverse("videos:collection_add"), {"collection": collection.pk, "v": [video.pk]}
        )
        assert response.status_code == 404  # not among the collections they may change
        assert Collection.objects.get().name == "Selects" and not collection.items.exists()

    def test_another_team_gets_404_everywhere_and_an_empty_gallery(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        video = _crew_video(cast, crew)
        CollectionItem.objects.create(
            collection=collection, video=video, video_created_at=video.created_at
        )
        client = client_for(cast["outsider"])
        for url in self._urls(collection).values():
            assert client.post(url, {"name": "Mine"}).status_code == 404
            assert client.get(url).status_code in (404, 405)
        assert "Selects" not in client.get(SIDE).content.decode()
        page = client.get(f"{GALLERY}?collection={collection.pk}")
        assert page.context["page"].count == 0
        assert "Selects" not in page.content.decode()

    def test_a_personal_collection_is_its_owners_alone(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        mine = Collection.objects.create(owner=cast["editor"], name="Mine")
        video = make_video(cast["editor"])
        CollectionItem.objects.create(
            collection=mine, video=video, video_created_at=video.created_at
        )
        admin = client_for(cast["admin"])  # the owner's team admin: still not theirs
        assert "Mine" not in admin.get(SIDE).content.decode()
        assert admin.post(self._urls(mine)["rename"], {"name": "X"}).status_code == 404
        assert _card_ids(client_for(cast["editor"]), f"collection={mine.pk}") == {video.pk}

    def test_signed_out_is_sent_to_sign_in(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        client = Client()
        urls = [*self._urls(collection).values(), reverse("videos:collection_add")]
        for url in [*urls, reverse("videos:collection_new"), reverse("videos:saved_filter_new")]:
            assert client.post(url).status_code == 302
        assert not CollectionItem.objects.exists()


class TestGalleryFilter:
    def test_only_the_collections_videos_in_the_gallerys_order(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        inside = [_crew_video(cast, crew) for _ in range(3)]
        _crew_video(cast, crew)  # not in it
        for video in inside:
            CollectionItem.objects.create(
                collection=collection, video=video, video_created_at=video.created_at
            )
        page = client_for(cast["viewer"]).get(f"{GALLERY}?collection={collection.pk}")
        assert [v.pk for v in page.context["page"].object_list] == [v.pk for v in inside[::-1]]
        assert "<h2>Selects</h2>" in page.content.decode()

    def test_it_shows_every_version_picked_into_it(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        first = _crew_video(cast, crew)
        second = _crew_video(cast, crew, source=first, operation="remix")
        for video in (first, second):
            CollectionItem.objects.create(
                collection=collection, video=video, video_created_at=video.created_at
            )
        client = client_for(cast["editor"])
        assert first.pk not in _card_ids(client, "")  # the gallery: the stack's latest
        assert _card_ids(client, f"collection={collection.pk}") == {first.pk, second.pk}

    def test_the_fragment_follows_the_collection(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        video = _crew_video(cast, crew)
        CollectionItem.objects.create(
            collection=collection, video=video, video_created_at=video.created_at
        )
        response = client_for(cast["editor"]).get(
            f"{GALLERY}?collection={collection.pk}", HTTP_HX_REQUEST="true"
        )
        body = response.content.decode()
        assert 'id="gallery-side"' not in body  # the fragment: the results alone
        assert "<h2>Selects</h2>" in body and "Remove from collection" in body

    def test_a_viewer_is_not_offered_remove(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        _crew_video(cast, crew)
        body = client_for(cast["viewer"]).get(f"{GALLERY}?collection={collection.pk}")
        assert "Remove from collection" not in body.content.decode()

    def test_an_unknown_or_bad_collection(self, cast: dict[str, Any], crew: Team) -> None:
        _crew_video(cast, crew)
        client = client_for(cast["editor"])
        assert _card_ids(client, "collection=999999") == set()
        page = client.get(f"{GALLERY}?collection=abc")
        assert page.status_code == 200 and page.context["form"].errors["collection"]

    def test_queries_per_page_do_not_grow_with_the_collection(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        client = client_for(cast["editor"])
        url = f"{GALLERY}?collection={collection.pk}"
        client.get(url)

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                client.get(url)
            return len(ctx.captured_queries)

        def fill(n: int) -> None:
            for _ in range(n):
                video = _crew_video(cast, crew)
                CollectionItem.objects.create(
                    collection=collection, video=video, video_created_at=video.created_at
                )

        fill(2)
        few = count()
        fill(30)
        assert count() == few


class TestSideBar:
    def test_the_gallery_loads_it_after_the_page_with_the_current_collection(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        page = client_for(cast["editor"]).get(f"{GALLERY}?collection={collection.pk}")
        slot = f'hx-get="{SIDE}?collection={collection.pk}" hx-trigger="intersect once"'
        assert slot in page.content.decode()

    def test_a_page_without_js_and_a_fragment_for_htmx(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        client = client_for(cast["editor"])
        page = client.get(SIDE, {"collection": collection.pk}).content.decode()
        assert "<!doctype html>" in page.lower() and 'aria-current="page">Selects<' in page
        fragment = client.get(SIDE, HTTP_HX_REQUEST="true").content.decode()
        assert fragment.lstrip().startswith("<aside") and "Selects" in fragment
        assert "Rename or delete" not in fragment  # only for the current one

    def test_a_viewer_sees_no_rename_nor_delete(self, cast: dict[str, Any], crew: Team) -> None:
        collection = _crew_collection(cast, crew)
        SavedFilter.objects.create(team=crew, owner=cast["editor"], name="Long", query="seconds=8")
        viewer = client_for(cast["viewer"]).get(SIDE, {"collection": collection.pk})
        assert "Rename or delete" not in viewer.content.decode()
        assert "Delete the saved filter" not in viewer.content.decode()
        editor = client_for(cast["editor"]).get(SIDE, {"collection": collection.pk})
        assert "Rename or delete" in editor.content.decode()
        assert "Delete the saved filter" in editor.content.decode()

    def test_signed_out_is_sent_to_sign_in(self) -> None:
        assert Client().get(SIDE).status_code == 302


@pytest.mark.embedded_only
class TestCollectionPlans:
    """The collection's page and count start from its rows in the membership index
    (covering: no membership row is read) and look each video up by its key: what they
    read grows with the collection, never with the table. SQLite without statistics, as
    the studio runs it (no ANALYZE); with them it may walk the gallery's own order index
    and probe the collection's list instead."""

    def test_the_page_and_count_read_the_collections_index(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        collection = _crew_collection(cast, crew)
        for _ in range(3):
            video = _crew_video(cast, crew)
            CollectionItem.objects.create(
                collection=collection, video=video, video_created_at=video.created_at
            )
        for _ in range(20):
            _crew_video(cast, crew)
        videos = selectors.video_gallery(user=cast["viewer"], filters={"collection": collection.pk})
        with CaptureQueriesContext(connection) as ctx:
            selectors.gallery_page(videos)
        for sql in [q["sql"] for q in ctx.captured_queries][-2:]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " | ".join(row[3] for row in cursor.fetchall())
            assert "COVERING INDEX collection_item_order (collection_id=?)" in plan
            assert "SEARCH videos_app_video USING INDEX sqlite_autoindex" in plan  # by key
            assert "SCAN videos_app_video" not in plan


class TestSavedFilters:
    def test_the_round_trip(self, cast: dict[str, Any], crew: Team) -> None:
        made = _crew_video(cast, crew, seconds=8)
        _crew_video(cast, crew, seconds=4)
        client = client_for(cast["editor"])
        query = "seconds=8&size=&status=&favorites=&sort=newest&team=crew"
        response = client.post(
            reverse("videos:saved_filter_new"),
            {"name": "Long ones", "team": crew.pk, "query": query},
        )
        saved = SavedFilter.objects.get()
        # The form's cleaned values, blanks dropped, in a fixed order.
        assert saved.query == "team=crew&seconds=8&sort=newest"
        assert response["Location"] == f"{GALLERY}?{saved.query}"
        viewer = client_for(cast["viewer"])
        side = viewer.get(SIDE).content.decode()
        assert f'href="{GALLERY}?team=crew&amp;seconds=8&amp;sort=newest">Long ones<' in side
        assert _card_ids(viewer, saved.query) == {made.pk}

    @pytest.mark.parametrize(
        "query", ["seconds=7", "from=yesterday", "", "page=2", "q=%3C%2F%3E", "team=elsewhere"]
    )
    def test_bad_filters_are_a_form_error_and_nothing_is_saved(
        self, cast: dict[str, Any], query: str
    ) -> None:
        response = client_for(cast["editor"]).post(
            reverse("videos:saved_filter_new"), {"name": "Bad", "query": query}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["query"]
        assert not SavedFilter.objects.exists()

    def test_html_in_a_search_is_kept_as_text(self, cast: dict[str, Any]) -> None:
        client = client_for(cast["editor"])
        client.post(
            reverse("videos:saved_filter_new"),
            {"name": "<b>x</b>", "query": 'q=cliff "<script>"'},
        )
        saved = SavedFilter.objects.get()
        assert saved.query == "q=cliff+%22%3Cscript%3E%22"
        side = client.get(SIDE).content.decode()
        assert "&lt;b&gt;x&lt;/b&gt;" in side and "<b>x</b>" not in side

    def test_the_results_offer_saving_only_when_filtered(self, cast: dict[str, Any]) -> None:
        make_video(cast["editor"])
        client = client_for(cast["editor"])
        assert 'id="save-filter"' not in client.get(GALLERY).content.decode()
        fragment = client.get(f"{GALLERY}?seconds=8", HTTP_HX_REQUEST="true").content.decode()
        assert f'{reverse("videos:saved_filter_new")}?query=seconds%3D8"' in fragment
        form = client.get(reverse("videos:saved_filter_new"), {"query": "seconds=8"})
        assert form.status_code == 200 and 'value="seconds=8"' in form.content.decode()

    def test_a_viewer_cannot_save_for_the_team_nor_delete_its_filters(
        self, cast: dict[str, Any], crew: Team
    ) -> None:
        saved = SavedFilter.objects.create(
            team=crew, owner=cast["editor"], name="Long", query="seconds=8"
        )
        viewer = client_for(cast["viewer"])
        response = viewer.post(
            reverse("videos:saved_filter_new"), {"name": "X", "team": crew.pk, "query": "seconds=8"}
        )
        assert response.status_code == 400
        delete = reverse("videos:saved_filter_delete", args=[saved.pk])
        assert viewer.post(delete).status_code == 403
        assert client_for(cast["outsider"]).post(delete).status_code == 404
        assert SavedFilter.objects.count() == 1
        assert client_for(cast["admin"]).post(delete).status_code == 302
        assert not SavedFilter.objects.exists()

    def test_a_personal_filter_is_its_owners_alone(self, cast: dict[str, Any]) -> None:
        someone = make_user()
        SavedFilter.objects.create(owner=someone, name="Hidden one", query="seconds=8")
        assert "Hidden one" not in client_for(cast["editor"]).get(SIDE).content.decode()
        assert "Hidden one" in client_for(someone).get(SIDE).content.decode()
