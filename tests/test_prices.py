"""Prices by resolution and sound (providers/prices.py): the table's rules, a route's
table (its own, else the vendor's list prices), what a video records, what a budget
counts, and how an admin and a script set it."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from tests.api_helpers import assert_error, make_key
from tests.factories import make_team, make_user
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, prices
from videos_app.providers.admin import ModelRouteForm
from videos_app.providers.vertex_veo import FAST, STANDARD

pytestmark = pytest.mark.django_db

TIERS = {"720p": "0.10", "1080p": "0.15", "*+audio": "0.25", "4k+audio": "0.60"}


class TestTheTable:
    def test_keys_are_resolutions_or_any_with_or_without_sound(self) -> None:
        table = prices.parse(TIERS | {"*": 0.08})
        assert table == {k: Decimal(v) for k, v in (TIERS | {"*": "0.08"}).items()}
        assert prices.as_json(prices.parse(prices.as_json(table))) == prices.as_json(table)

    @pytest.mark.parametrize(
        ("raw", "says"),
        [
            ({"1080": "0.1"}, "Unknown price key '1080'"),
            ({"720p+sound": "0.1"}, "Unknown price key '720p+sound'"),
            ({"720p": "cheap"}, "The price of '720p' is not a number"),
            ({"720p": "-0.10"}, "must be between 0 and 1000"),
            ({"720p": "NaN"}, "must be between 0 and 1000"),
            ({"720p": "0.12345"}, "more than 4 decimal places"),
            (["0.10"], "Prices must be an object"),
        ],
    )
    def test_a_bad_entry_is_refused_by_name(self, raw: object, says: str) -> None:
        with pytest.raises(ValueError, match=says.replace("+", r"\+")):
            prices.parse(raw)  # type: ignore[arg-type]

    def test_sound_first_then_the_resolution_then_any(self) -> None:
        table = prices.parse(TIERS | {"*": "0.08"})
        assert prices.per_second(table, "1280x720", audio=False) == Decimal("0.10")
        assert prices.per_second(table, "1920x1080", audio=False) == Decimal("0.15")
        assert prices.per_second(table, "640x360", audio=False) == Decimal("0.08")
        assert prices.per_second(table, "1280x720", audio=True) == Decimal("0.25")
        assert prices.per_second(table, "3840x2160", audio=True) == Decimal("0.60")
        # A vendor that prices only the video: sound costs the same.
        flat = prices.parse({"1080p": "0.15"})
        assert prices.per_second(flat, "1080x1920", audio=True) == Decimal("0.15")
        assert prices.per_second(flat, "1280x720", audio=True) is None

    def test_a_routes_own_table_replaces_the_vendors_whole(self) -> None:
        documented = prices.parse({"*": "0.40", "4k": "0.60"})
        assert prices.route_table(None, {}, documented) == documented
        assert prices.route_table(Decimal("0.30"), {}, documented) == {"*": Decimal("0.30")}
        own = prices.route_table(Decimal("0.30"), {"4k": "0.50"}, documented)
        assert own == {"*": Decimal("0.30"), "4k": Decimal("0.50")}

    def test_described_for_people(self) -> None:
        assert prices.describe(prices.parse({"*": "0.4"})) == "$0.40/s"
        text = prices.describe(prices.parse({"*": "0.20", "*+audio": "0.40", "4k+audio": "0.6"}))
        assert text == "$0.20/s; with sound $0.40/s; 4k with sound $0.60/s"


@pytest.fixture
def veo() -> Provider:
    """Veo on Vertex with no prices of the studio's own: the vendor's list prices."""
    provider = Provider.objects.create(name="vertex", kind="vertex_veo", api_key_env="VERTEX_KEY")
    ModelRoute.objects.create(name="veo", provider=provider, upstream_model=STANDARD, position=2)
    ModelRoute.objects.create(name="veo-fast", provider=provider, upstream_model=FAST, position=3)
    return provider


@pytest.fixture
def tiered() -> ModelRoute:
    gateway = Provider.objects.create(name="gateway", kind="openai_compatible")
    return ModelRoute.objects.create(
        name="tiered", provider=gateway, prices=TIERS, position=4,
        capabilities={"audio": True, "sizes": ["1280x720", "1920x1080", "3840x2160"]},
    )  # fmt: skip


def v1_create(user: User, **body: str) -> Client:
    return Client(**make_key(user).headers).post(
        "/v1/videos", json.dumps({"prompt": "a lighthouse in fog", **body}),
        content_type="application/json",
    )  # fmt: skip


class TestWhatAVideoCosts:
    def test_the_vendors_list_price_by_resolution_when_the_route_sets_none(
        self, veo: Provider
    ) -> None:
        user = make_user("ines")
        route = catalog.route("veo")
        assert route.prices == {"*": Decimal("0.40"), "4k": Decimal("0.60")}
        assert catalog.route("veo-fast").prices == {"*": Decimal("0.12")}
        hd = v1_create(user, model="veo", size="1280x720", seconds="8").json()
        uhd = v1_create(user, model="veo", size="3840x2160", seconds="8").json()
        assert Video.objects.get(pk=hd["id"]).cost_estimate == Decimal("3.2000")
        assert Video.objects.get(pk=uhd["id"]).cost_estimate == Decimal("4.8000")

    def test_sound_as_asked_else_the_models_default(self, tiered: ModelRoute) -> None:
        user = make_user("ines")
        default = v1_create(user, model="tiered", size="1280x720", seconds="4").json()
        silent = v1_create(user, model="tiered", size="1280x720", seconds="4", audio=False)
        silent_hd = v1_create(user, model="tiered", size="1920x1080", seconds="4", audio=False)
        costs = [
            Video.objects.get(pk=body["id"]).cost_estimate
            for body in (default, silent.json(), silent_hd.json())
        ]
        assert costs == [Decimal("1.0000"), Decimal("0.4000"), Decimal("0.6000")]

    def test_the_create_page_records_what_its_estimate_said(self, tiered: ModelRoute) -> None:
        user = make_user("ines")
        client = Client()
        client.force_login(user)
        form = {"prompt": "a lighthouse", "model": "tiered", "size": "1920x1080",
                "seconds": "8", "audio": "off", "visibility": "private"}  # fmt: skip
        page = client.get("/videos/new", {"model": "tiered", "size": "1920x1080"})
        assert page.status_code == 200
        response = client.post("/videos/new", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert Video.objects.get().cost_estimate == Decimal("1.2000")

    def test_a_budget_counts_the_price_of_the_resolution_asked(self, veo: Provider) -> None:
        user = make_user("ines")
        make_team("Crew", members={user: "editor"}, slug="crew", monthly_cap=Decimal("4.00"))
        fits = v1_create(user, model="veo", size="1280x720", seconds="8", team="crew")
        assert fits.status_code == 200, fits.content
        Video.objects.update(cost_estimate=Decimal("0"))  # as if that one cost nothing
        refused = v1_create(user, model="veo", size="3840x2160", seconds="8", team="crew")
        assert_error(refused, 429, code="insufficient_quota")
        assert Video.objects.count() == 1


class TestSettingPrices:
    def form(self, route: ModelRoute, **changes: object) -> ModelRouteForm:
        data = {
            "name": route.name, "provider": route.provider.pk, "upstream_model": "",
            "sizes": "[]", "seconds": "[]", "capabilities": "{}", "prices": "{}",
            "price_per_second": "", "listed": "on", "enabled": "on", "position": 0,
        }  # fmt: skip
        data.update({k: json.dumps(v) if isinstance(v, dict) else v for k, v in changes.items()})
        return ModelRouteForm(data=data, instance=route)

    def test_the_admin_refuses_a_bad_table_and_saves_a_good_one(self, tiered: ModelRoute) -> None:
        bad = self.form(tiered, prices={"hd": "0.10"})
        assert not bad.is_valid()
        assert bad.errors["prices"][0].startswith("Unknown price key 'hd': use a resolution")
        good = self.form(tiered, prices={"1080p": 0.15, "*+audio": "$0.30"})
        assert good.is_valid(), good.errors
        assert good.save().prices == {"1080p": "0.15", "*+audio": "0.3"}

    def test_the_admin_shows_what_a_second_costs(self, veo: Provider) -> None:
        from django.contrib import admin

        route_admin = admin.site._registry[ModelRoute]
        shown = route_admin.effective_prices(ModelRoute.objects.get(name="veo"))  # type: ignore[attr-defined]
        assert shown == "$0.40/s; 4k $0.60/s"

    def test_routes_set_takes_prices_by_key(self, tiered: ModelRoute) -> None:
        out = StringIO()
        call_command("routes", "set", "tiered", "--price", "4k=0.90", "--price", "720p=",
                     stdout=out)  # fmt: skip
        tiered.refresh_from_db()
        assert tiered.prices == {"1080p": "0.15", "*+audio": "0.25", "4k+audio": "0.6",
                                 "4k": "0.9"}  # fmt: skip
        assert "1080p $0.15/s" in out.getvalue()
        call_command("routes", "set", "tiered", "--price", "", "--price", "*=0.05", stdout=out)
        tiered.refresh_from_db()
        assert tiered.prices == {"*": "0.05"}
        with pytest.raises(CommandError, match="--price: Unknown price key 'uhd'"):
            call_command("routes", "set", "tiered", "--price", "uhd=1")
        with pytest.raises(CommandError, match="--price: give KEY=USD"):
            call_command("routes", "set", "tiered", "--price", "0.10")
        tiered.refresh_from_db()
        assert tiered.prices == {"*": "0.05"}
