"""Takes (takes/): the create form and POST /v1/videos make ``n`` takes of one prompt with
different seeds, all or none, in one group; the reviewer picks one (the others are
discarded: hidden from the gallery, never deleted) and can undo the pick."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.api_helpers import assert_error, completed_video, make_key
from tests.conftest import stored_files
from tests.factories import client_for, crew_cast, image_bytes, make_team, make_user, make_video
from videos_app.api import openapi
from videos_app.forms import VideoCreateForm
from videos_app.models import ModelRoute, Provider, Take, TakeGroup, Team, Video
from videos_app.takes import services as take_services

pytestmark = pytest.mark.django_db

PRICE = Decimal("0.10")  # a second: a 4 s take is $0.40


def form_data(**extra: Any) -> dict[str, Any]:
    return {
        "prompt": "a kite over the dunes",
        "model": "sora-2",
        "size": "720x1280",
        "seconds": "4",
        **extra,
    }


def takes_of(video: Video) -> list[Video]:
    return [take.video for take in Take.objects.filter(group__takes__video=video).distinct()]


@pytest.fixture
def maya(db: None) -> AbstractUser:
    return make_user("maya")


@pytest.fixture
def priced() -> ModelRoute:
    """The local renderer at $0.10 a second, so a spend cap has something to count."""
    return ModelRoute.objects.create(
        name="local-paid", provider=Provider.objects.get(name="local"), price_per_second=PRICE
    )


def capped_team(user: AbstractUser, cap: str) -> Team:
    return make_team("Crew", members={user: "editor"}, slug="crew", monthly_cap=Decimal(cap))


class TestTheCreateForm:
    @pytest.mark.parametrize("n", [1, 2, 3, 4])
    def test_it_makes_n_takes_of_one_prompt_with_distinct_seeds(
        self, maya: AbstractUser, n: int
    ) -> None:
        response = client_for(maya).post(reverse("videos:new"), form_data(n=str(n)))
        assert response.status_code == 302
        videos = list(Video.objects.order_by("created_at", "id"))
        assert len(videos) == n
        assert {v.prompt for v in videos} == {"a kite over the dunes"}
        assert len({v.seed for v in videos}) == n
        if n == 1:
            assert not Take.objects.exists() and not TakeGroup.objects.exists()
            assert response["Location"] == videos[0].get_absolute_url()
            return
        group = TakeGroup.objects.get()
        takes = list(group.takes.order_by("number"))
        assert [t.number for t in takes] == list(range(1, n + 1))
        assert {t.video_id for t in takes} == {v.pk for v in videos}
        assert response["Location"] == takes[0].video.get_absolute_url()

    def test_a_given_seed_makes_takes_of_consecutive_seeds(self, maya: AbstractUser) -> None:
        client_for(maya).post(reverse("videos:new"), form_data(n="3", seed="41"))
        takes = Take.objects.select_related("video").order_by("number")
        assert [t.video.seed for t in takes] == [41, 42, 43]

    def test_seeds_wrap_at_the_top_of_their_range(self) -> None:
        assert take_services.take_seeds(2**32 - 1, 2) == [2**32 - 1, 0]

    @pytest.mark.parametrize("n", ["0", "5", "x", "-1"])
    def test_a_bad_n_is_a_form_error_and_creates_nothing(self, maya: AbstractUser, n: str) -> None:
        response = client_for(maya).post(reverse("videos:new"), form_data(n=n))
        assert response.status_code == 400
        assert "Choose 1 to 4 takes." in response.content.decode()
        assert not Video.objects.exists() and not TakeGroup.objects.exists()

    def test_each_take_gets_its_own_copy_of_the_reference_image(
        self, maya: AbstractUser, media_root: Path
    ) -> None:
        image = SimpleUploadedFile("first.png", image_bytes(720, 1280), content_type="image/png")
        client_for(maya).post(reverse("videos:new"), form_data(n="2", reference_image=image))
        videos = Video.objects.all()
        names = {v.reference_image.name for v in videos}
        assert len(names) == 2 and all(
            v.reference_image.name.startswith(f"videos/{v.pk}/") for v in videos
        )

    def test_the_estimate_counts_every_take(self, priced: ModelRoute) -> None:
        form = VideoCreateForm(data=form_data(model="local-paid", n="3"))
        times = "\N{MULTIPLICATION SIGN}"
        assert form.estimate == f"Estimated cost: $1.20 (3 takes {times} 4 s {times} $0.10/s)"
        one = VideoCreateForm(data=form_data(model="local-paid", n="1"))
        assert one.estimate == f"Estimated cost: $0.40 (4 s {times} $0.10/s)"

    def test_the_page_offers_the_takes_control(self, maya: AbstractUser) -> None:
        html = client_for(maya).get(reverse("videos:new")).content.decode()
        assert '<select name="n"' in html and '<option value="4">4 takes</option>' in html


class TestTheBudget:
    def test_a_cap_that_fits_one_take_but_not_all_refuses_them_all(
        self, maya: AbstractUser, priced: ModelRoute, media_root: Path
    ) -> None:
        team = capped_team(maya, "1.00")
        image = SimpleUploadedFile("first.png", image_bytes(720, 1280), content_type="image/png")
        data = form_data(model="local-paid", n="3", team=str(team.pk), reference_image=image)
        response = client_for(maya).post(reverse("videos:new"), data)
        assert response.status_code == 400
        html = response.content.decode()
        assert "$0.00 of $1.00 is spent and these 3 takes&#x27; estimate is $1.20" in html
        assert not Video.objects.exists() and not TakeGroup.objects.exists()
        assert all(name.startswith("kept_uploads/") for name in stored_files(media_root))

    def test_takes_that_fit_the_cap_are_all_made(
        self, maya: AbstractUser, priced: ModelRoute
    ) -> None:
        team = capped_team(maya, "1.00")
        data = form_data(model="local-paid", n="2", team=str(team.pk))
        assert client_for(maya).post(reverse("videos:new"), data).status_code == 302
        assert Video.objects.filter(team=team).count() == 2

    def test_the_service_refuses_a_bad_count(self, maya: AbstractUser) -> None:
        from django.core.exceptions import ValidationError

        from videos_app import services

        with pytest.raises(ValidationError):
            services.video_create(owner=maya, prompt="p", takes=5)  # type: ignore[arg-type]
        assert not Video.objects.exists()


def v1(user: AbstractUser) -> Client:
    return Client(**make_key(user).headers)  # type: ignore[arg-type]


class TestTheApi:
    @pytest.mark.parametrize("n", [1, 2, 3, 4])
    def test_it_answers_the_first_take_with_every_take_id(self, maya: AbstractUser, n: int) -> None:
        body = {"prompt": "a kite", "n": n}
        response = v1(maya).post("/v1/videos", json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["object"] == "video" and answer["status"] == "queued"
        assert len(answer["takes"]) == n and answer["takes"][0] == answer["id"]
        videos = Video.objects.filter(pk__in=answer["takes"])
        assert len({v.seed for v in videos}) == n
        assert TakeGroup.objects.count() == (1 if n > 1 else 0)

    def test_without_n_the_answer_is_the_retired_apis_video(self, maya: AbstractUser) -> None:
        response = v1(maya).post("/v1/videos", {"prompt": "a kite"})
        assert "takes" not in response.json()
        assert not TakeGroup.objects.exists()

    def test_multipart_sends_n_as_text(self, maya: AbstractUser) -> None:
        response = v1(maya).post("/v1/videos", {"prompt": "a kite", "n": "2"})
        assert response.status_code == 200, response.content
        assert len(response.json()["takes"]) == 2

    @pytest.mark.parametrize("n", [0, 5, "x", True, 2.5])
    def test_a_bad_n_is_a_400_and_creates_nothing(self, maya: AbstractUser, n: object) -> None:
        body = json.dumps({"prompt": "a kite", "n": n})
        response = v1(maya).post("/v1/videos", body, content_type="application/json")
        assert_error(response, 400, param="n")
        assert not Video.objects.exists()

    def test_a_cap_refuses_all_the_takes_with_429(
        self, maya: AbstractUser, priced: ModelRoute
    ) -> None:
        capped_team(maya, "1.00")
        body = {"prompt": "a kite", "model": "local-paid", "size": "720x1280", "n": 3}
        body.update(seconds="4", team="crew")
        response = v1(maya).post("/v1/videos", json.dumps(body), content_type="application/json")
        error = assert_error(response, 429, code="insufficient_quota")
        assert "these 3 takes' estimate is $1.20" in error["message"]
        assert not Video.objects.exists()

    def test_the_document_describes_n_and_the_takes(self) -> None:
        document = openapi.document(models=["sora-2"])
        schemas = document["components"]["schemas"]
        n = schemas["CreateVideoRequest"]["properties"]["n"]
        assert (n["minimum"], n["maximum"], n["default"]) == (1, 4, 1)
        created = schemas["VideoCreated"]
        assert "takes" in created["properties"] and "takes" not in created["required"]
        assert set(created["required"]) == set(schemas["Video"]["required"])
        create = document["paths"]["/videos"]["post"]["responses"]["200"]
        assert create["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/VideoCreated"
        }


def group_of(owner: AbstractUser, count: int = 3, **kwargs: Any) -> list[Video]:
    videos = [completed_video(owner, seed=i, **kwargs) for i in range(count)]  # type: ignore[arg-type]
    take_services.take_group_save(videos)
    return videos


def pick(client: Client, video: Video, **data: str) -> Any:
    return client.post(reverse("videos:take_pick", args=[video.pk]), data)


def gallery_ids(client: Client, query: str = "") -> set[str]:
    html = client.get(reverse("videos:gallery") + query).content.decode()
    return {pk for pk in Video.objects.values_list("pk", flat=True) if pk in html}


class TestPicking:
    def test_the_page_of_a_take_shows_its_siblings(self, maya: AbstractUser) -> None:
        videos = group_of(maya)
        html = client_for(maya).get(videos[1].get_absolute_url()).content.decode()
        assert "Take 2 of 3" in html
        assert all(v.get_absolute_url() in html for v in videos)
        assert "Pick this take" in html

    def test_a_video_made_alone_has_no_strip(self, maya: AbstractUser) -> None:
        video = completed_video(maya)  # type: ignore[arg-type]
        assert (
            'id="take-strip"' not in client_for(maya).get(video.get_absolute_url()).content.decode()
        )

    def test_picking_discards_the_others_which_leave_the_gallery_but_stay(
        self, maya: AbstractUser
    ) -> None:
        videos = group_of(maya)
        client = client_for(maya)
        assert pick(client, videos[1]).status_code == 302
        group = TakeGroup.objects.get()
        assert group.picked_id == videos[1].pk and group.picked_by == maya
        discarded = set(Take.objects.filter(discarded=True).values_list("video_id", flat=True))
        assert discarded == {videos[0].pk, videos[2].pk}
        assert Video.objects.count() == 3
        assert gallery_ids(client) == {videos[1].pk}
        assert gallery_ids(client, "?discarded=1") == {videos[0].pk, videos[2].pk}
        html = client.get(videos[0].get_absolute_url()).content.decode()
        assert "Take 2 picked by maya" in html and "Discarded" in html

    def test_picking_another_take_moves_the_pick(self, maya: AbstractUser) -> None:
        videos = group_of(maya)
        client = client_for(maya)
        pick(client, videos[0])
        pick(client, videos[2])
        assert gallery_ids(client) == {videos[2].pk}

    def test_undo_brings_every_take_back(self, maya: AbstractUser) -> None:
        videos = group_of(maya)
        client = client_for(maya)
        pick(client, videos[0])
        assert pick(client, videos[1], undo="1").status_code == 302
        assert TakeGroup.objects.get().picked_id is None
        assert not Take.objects.filter(discarded=True).exists()
        assert gallery_ids(client) == {v.pk for v in videos}

    def test_htmx_gets_the_strip_again(self, maya: AbstractUser) -> None:
        videos = group_of(maya)
        response = client_for(maya).post(
            reverse("videos:take_pick", args=[videos[0].pk]), HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert response.status_code == 200 and html.lstrip().startswith(
            '<section class="take-strip"'
        )
        assert "Take 1 picked by maya" in html and "Undo the pick" in html
        assert "Continue from this take" in html

    def test_an_unfinished_take_cannot_be_picked(self, maya: AbstractUser) -> None:
        videos = [make_video(maya, seed=1), make_video(maya, seed=2)]
        take_services.take_group_save(videos)
        response = client_for(maya).post(
            reverse("videos:take_pick", args=[videos[0].pk]), HTTP_HX_REQUEST="true"
        )
        assert "only a finished take can be picked" in response.content.decode()
        assert TakeGroup.objects.get().picked_id is None

    def test_a_video_made_alone_cannot_be_picked(self, maya: AbstractUser) -> None:
        video = completed_video(maya)  # type: ignore[arg-type]
        response = pick(client_for(maya), video)
        assert response.status_code == 302
        assert not TakeGroup.objects.exists()

    def test_picking_is_a_post(self, maya: AbstractUser) -> None:
        videos = group_of(maya)
        response = client_for(maya).get(reverse("videos:take_pick", args=[videos[0].pk]))
        assert response.status_code == 405


class TestWhoPicks:
    @pytest.fixture
    def cast(self, db: None) -> dict[str, AbstractUser]:
        return crew_cast(["admin", "editor", "viewer", "outsider", "staff"], outsider="outsider")

    @pytest.mark.parametrize(
        ("who", "status"),
        [("admin", 302), ("editor", 302), ("staff", 302), ("viewer", 403), ("outsider", 404)],
    )
    def test_the_teams_reviewers_pick_a_viewer_may_not_an_outsider_sees_nothing(
        self, cast: dict[str, AbstractUser], who: str, status: int
    ) -> None:
        creator = make_user("creator")
        team = Team.objects.get(slug="crew")
        videos = group_of(creator, team=team)
        assert pick(client_for(cast[who]), videos[0]).status_code == status
        assert (TakeGroup.objects.get().picked_id == videos[0].pk) == (status == 302)

    def test_a_viewer_who_made_the_takes_picks_them(self, cast: dict[str, AbstractUser]) -> None:
        viewer = cast["viewer"]
        videos = group_of(viewer, team=Team.objects.get(slug="crew"))
        assert pick(client_for(viewer), videos[0]).status_code == 302

    def test_a_viewer_sees_the_strip_without_the_buttons(
        self, cast: dict[str, AbstractUser]
    ) -> None:
        videos = group_of(make_user("creator"), team=Team.objects.get(slug="crew"))
        html = client_for(cast["viewer"]).get(videos[0].get_absolute_url()).content.decode()
        assert "Take 1 of 3" in html and "Pick this take" not in html

    def test_a_private_take_stays_out_of_a_teammates_strip(
        self, cast: dict[str, AbstractUser]
    ) -> None:
        creator = cast["editor"]
        videos = group_of(creator, team=Team.objects.get(slug="crew"))
        Video.objects.filter(pk=videos[2].pk).update(visibility=Video.Visibility.PRIVATE)
        html = client_for(cast["admin"]).get(videos[0].get_absolute_url()).content.decode()
        assert "Take 1 of 2" in html and videos[2].pk not in html
