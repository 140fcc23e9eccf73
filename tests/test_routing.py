"""Model routing: public model names resolve through ModelRoute and Provider rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api_helpers import (  # noqa: F401  (fixtures)
    api_fixture,
    api_key_fixture,
    assert_error,
    completed_video,
)
from tests.factories import make_user, mp4_bytes
from videos_app import services
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog

pytestmark = pytest.mark.django_db


def gateway(name: str = "gateway", **kwargs: Any) -> Provider:
    kwargs.setdefault("kind", "openai_compatible")
    kwargs.setdefault("label", "Acme gateway")
    kwargs.setdefault("base_url", "http://127.0.0.1:9/v1")
    return Provider.objects.create(name=name, **kwargs)


def route(name: str, provider: Provider | None = None, **kwargs: Any) -> ModelRoute:
    provider = provider or Provider.objects.get(name="local")
    return ModelRoute.objects.create(name=name, provider=provider, **kwargs)


def form_data(**overrides: str) -> dict[str, str]:
    return {"prompt": "a lighthouse at dusk", "model": "sora-2", "size": "720x1280"} | {
        "seconds": "4",
        **overrides,
    }


@pytest.fixture
def staff(db: None) -> Client:
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)  # type: ignore[arg-type]
    return client


class TestTheSeed:
    def test_every_seed_name_routes_to_the_local_renderer(self) -> None:
        routes = catalog.routes()
        assert list(routes) == list(catalog.SEED_MODELS)
        assert {r.provider for r in routes.values()} == {"local"}
        assert routes["sora-2"].provider_label == "Local renderer (not an AI model)"
        assert routes["sora-2"].sizes == catalog.SIZES  # empty list: all
        assert routes["sora-2"].price_per_second is None

    def test_the_form_lists_only_the_two_listed_names(self, client_in: Client) -> None:
        html = client_in.get("/videos/new").content.decode()
        assert 'value="sora-2"' in html and 'value="sora-2-pro"' in html
        assert 'value="sora-2-2025-10-06"' not in html
        assert 'Runs on <strong id="route-provider">Local renderer (not an AI model)' in html

    def test_a_create_records_the_local_provider_and_its_model(self, user: User) -> None:
        video = services.video_create(owner=user, prompt="p", model="sora-2-2025-10-06")
        assert (video.provider, video.provider_model) == ("local", "sora-2-2025-10-06")

    def test_an_emptied_table_is_seeded_again_after_a_flush(self) -> None:
        ModelRoute.objects.all().delete()
        Provider.objects.all().delete()

        catalog.seed_routes(apps=None)
        assert list(catalog.routes()) == list(catalog.SEED_MODELS)

    def test_a_table_an_admin_changed_is_left_alone(self) -> None:
        ModelRoute.objects.exclude(name="sora-2").delete()
        catalog.seed_routes(apps=None)
        assert list(catalog.routes()) == ["sora-2"]


class TestResolving:
    def test_route_reads_one_row_with_its_provider_in_one_query(self) -> None:
        route("fancy", gateway(), upstream_model="fancy-v2", price_per_second=Decimal("0.05"))
        with CaptureQueriesContext(connection) as queries:
            fancy = catalog.route("fancy")
            catalog.routes()
        assert len(queries) == 2  # one each
        assert (fancy.provider, fancy.provider_kind, fancy.upstream_model) == (
            "gateway",
            "openai_compatible",
            "fancy-v2",
        )
        assert fancy.provider_label == "Acme gateway"

    def test_sizes_and_seconds_keep_the_catalogs_order(self) -> None:
        route("narrow", sizes=["1792x1024", "720x1280"], seconds=[8, 4])
        narrow = catalog.route("narrow")
        assert narrow.sizes == ("720x1280", "1792x1024")
        assert narrow.seconds == (4, 8)

    @pytest.mark.parametrize("what", ["route", "provider"])
    def test_a_disabled_route_or_provider_is_unavailable(self, what: str) -> None:
        fancy = route("fancy", gateway())
        if what == "route":
            ModelRoute.objects.filter(pk=fancy.pk).update(enabled=False)
        else:
            Provider.objects.filter(name="gateway").update(enabled=False)
        with pytest.raises(catalog.ModelUnavailable) as caught:
            catalog.route("fancy")
        message = caught.value.message_dict["model"][0]
        assert message.startswith("Invalid value: 'fancy'. The model 'fancy' is turned off")
        assert "'sora-2'" in message and "fancy" not in catalog.routes()

    def test_an_unknown_name_lists_what_exists(self) -> None:
        with pytest.raises(catalog.ModelUnavailable) as caught:
            catalog.route("sora-9")
        message = caught.value.message_dict["model"][0]
        assert message.startswith("Invalid value: 'sora-9'. Supported values are: 'sora-2', ")

    def test_the_detail_page_names_the_provider_by_its_rows_label(
        self, user: User, client_in: Client
    ) -> None:
        gateway(label="Night shift renderer")
        video = completed_video(user, provider="gateway")
        assert "Night shift renderer" in client_in.get(f"/videos/{video.pk}").content.decode()

    def test_the_detail_page_shows_the_upstream_job_not_a_seed_it_never_used(
        self, user: User, client_in: Client
    ) -> None:
        gateway()
        upstream = completed_video(user, provider="gateway", provider_job_id="video_up_42")
        page = client_in.get(f"/videos/{upstream.pk}").content.decode()
        assert "Upstream job" in page and "video_up_42" in page and "<dt>Seed</dt>" not in page
        local = completed_video(user)
        assert "<dt>Seed</dt>" in client_in.get(f"/videos/{local.pk}").content.decode()


class TestAnAdminRepointsAModel:
    def changelist_post(self, staff: Client, changes: dict[str, dict[str, str]]) -> Any:
        """The route changelist's list_editable form, as the admin's browser posts it."""
        rows = list(ModelRoute.objects.select_related("provider"))
        data = {
            "form-TOTAL_FORMS": str(len(rows)),
            "form-INITIAL_FORMS": str(len(rows)),
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        }
        for i, row in enumerate(rows):
            fields = {
                "id": str(row.pk),
                "provider": str(row.provider_id),
                "price_per_second": ""
                if row.price_per_second is None
                else str(row.price_per_second),
                "listed": "on" if row.listed else "",
                "enabled": "on" if row.enabled else "",
            } | changes.get(row.name, {})
            data.update({f"form-{i}-{k}": v for k, v in fields.items() if v != ""})
        return staff.post("/admin/videos_app/modelroute/", data)

    def test_the_next_create_runs_on_the_new_provider_without_a_restart(
        self, staff: Client, client_in: Client, api: Client, user: User
    ) -> None:
        before = client_in.post("/videos/new", form_data())
        assert before.status_code == 302
        assert Video.objects.get().provider == "local"

        upstream = gateway()
        response = self.changelist_post(
            staff, {"sora-2": {"provider": str(upstream.pk), "price_per_second": "0.05"}}
        )
        assert response.status_code == 302, response.content.decode()[:2000]

        assert 'Runs on <strong id="route-provider">Acme gateway' in (
            client_in.get("/videos/new").content.decode()
        )
        assert client_in.post("/videos/new", form_data(seconds="8")).status_code == 302
        page_video = Video.objects.filter(owner=user).order_by("-created_at", "-pk").first()
        assert page_video is not None
        assert (page_video.provider, page_video.provider_model) == ("gateway", "sora-2")
        assert page_video.cost_estimate == Decimal("0.4000")

        body = api.post("/v1/videos", {"prompt": "p", "model": "sora-2", "seconds": "4"}).json()
        api_video = Video.objects.get(pk=body["id"])
        assert (api_video.provider, api_video.cost_estimate) == ("gateway", Decimal("0.2000"))
        assert body["model"] == "sora-2"  # the public name, whatever runs it

    def test_an_upstream_model_name_is_what_the_provider_is_asked_for(
        self, staff: Client, user: User
    ) -> None:
        sora = ModelRoute.objects.get(name="sora-2-pro")
        response = staff.post(
            f"/admin/videos_app/modelroute/{sora.pk}/change/",
            {
                "name": "sora-2-pro",
                "provider": str(gateway().pk),
                "upstream_model": "acme-video-hd",
                "sizes": "[]",
                "seconds": "[4, 8]",
                "price_per_second": "0.125",
                "listed": "on",
                "enabled": "on",
                "position": "1",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        video = services.video_create(owner=user, prompt="p", model="sora-2-pro", seconds=8)
        assert (video.provider, video.provider_model, video.cost_estimate) == (
            "gateway",
            "acme-video-hd",
            Decimal("1.0000"),
        )

    def test_the_route_form_refuses_unknown_sizes_and_durations(self, staff: Client) -> None:
        sora = ModelRoute.objects.get(name="sora-2")
        response = staff.post(
            f"/admin/videos_app/modelroute/{sora.pk}/change/",
            {
                "name": "sora-2",
                "provider": str(sora.provider_id),
                "sizes": '["1080x1080"]',
                "seconds": "[1]",
                "listed": "on",
                "enabled": "on",
                "position": "0",
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Unknown size: &#x27;1080x1080&#x27;" in html
        assert "Unknown duration: 1" in html
        sora.refresh_from_db()
        assert (sora.sizes, sora.seconds) == ([], [])


class TestDisabledModels:
    def test_the_form_neither_offers_nor_accepts_a_disabled_model(self, client_in: Client) -> None:
        ModelRoute.objects.filter(name="sora-2-pro").update(enabled=False)
        assert 'value="sora-2-pro"' not in client_in.get("/videos/new").content.decode()
        response = client_in.post("/videos/new", form_data(model="sora-2-pro"))
        assert response.status_code == 400
        assert "The model sora-2-pro is not available" in response.content.decode()
        assert not Video.objects.exists()

    def test_the_api_refuses_a_disabled_model_and_says_why(self, api: Client) -> None:
        Provider.objects.filter(name="local").update(enabled=False)
        route("fancy", gateway())
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "model": "sora-2"}), 400, param="model"
        )
        assert error["message"] == (
            "Invalid value: 'sora-2'. The model 'sora-2' is turned off on this studio. "
            "Supported values are: 'fancy'."
        )
        assert error["code"] == "invalid_value"
        assert not Video.objects.exists()

    def test_remix_of_a_video_whose_model_was_turned_off_is_refused(
        self, api: Client, user: User
    ) -> None:
        source = completed_video(user, model="sora-2-pro")
        ModelRoute.objects.filter(name="sora-2-pro").update(enabled=False)
        error = assert_error(
            api.post(f"/v1/videos/{source.pk}/remix", {"prompt": "p"}), 400, param="model"
        )
        assert "turned off" in error["message"]
        assert Video.objects.count() == 1

    def test_the_openapi_enum_follows_the_table(self, client: Client) -> None:
        ModelRoute.objects.filter(name="sora-2-pro").update(enabled=False)
        route("fancy", gateway())
        document = client.get("/v1/openapi.json").json()
        create = document["components"]["schemas"]["CreateVideoRequest"]
        enum = create["properties"]["model"]["enum"]
        assert "fancy" in enum and "sora-2-pro" not in enum and "sora-2" in enum


class TestPerRouteLimits:
    @pytest.fixture(autouse=True)
    def narrow(self) -> None:
        route("narrow", gateway(), sizes=["1280x720"], seconds=[4, 8], position=2)

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"size": "720x1280"}, "size", "narrow does not render 720x1280."),
            ({"seconds": "12"}, "seconds", "narrow does not render 12 seconds."),
        ],
    )
    def test_the_form_enforces_them(
        self, client_in: Client, overrides: dict[str, str], field: str, message: str
    ) -> None:
        data = form_data(model="narrow", size="1280x720") | overrides
        response = client_in.post("/videos/new", data)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Video.objects.exists()

    def test_the_form_hands_the_limits_to_its_script(self, client_in: Client) -> None:
        html = client_in.get("/videos/new").content.decode()
        assert '<script id="model-routes" type="application/json">' in html
        assert (
            '"narrow": {"provider": "Acme gateway", "local": false, "sizes": ["1280x720"], ' in html
        )
        assert '"seconds": [4, 8], "prices": {}, "audio": false, "takes": ' in html
        assert "studio/create.js" in html

    def test_the_api_enforces_them(self, api: Client) -> None:
        error = assert_error(
            api.post("/v1/videos", {"prompt": "p", "model": "narrow", "size": "720x1280"}),
            400,
            param="size",
        )
        assert error["message"] == (
            "Invalid value: '720x1280'. The model 'narrow' does not render it on this studio. "
            "Supported values are: '1280x720'."
        )
        narrow_params = {"prompt": "p", "model": "narrow", "size": "1280x720"}
        body = api.post("/v1/videos", {**narrow_params, "seconds": "8"}).json()
        assert Video.objects.get(pk=body["id"]).provider == "gateway"
        error = assert_error(
            api.post(
                "/v1/videos",
                {"prompt": "p", "model": "narrow", "size": "1280x720", "seconds": "12"},
            ),
            400,
            param="seconds",
        )
        assert error["message"] == (
            "Invalid value: '12'. The model 'narrow' does not render it on this studio. "
            "Supported values are: '4' and '8'."
        )

    def test_an_extension_segment_must_be_a_duration_of_the_route(
        self, api: Client, user: User
    ) -> None:
        source = completed_video(user, model="narrow", size="1280x720", seconds=8)
        error = assert_error(
            api.post(
                "/v1/videos/extensions",
                {"prompt": "p", "seconds": "12", "video": {"id": source.pk}},
                content_type="application/json",
            ),
            400,
            param="seconds",
        )
        assert error["message"] == (
            "Invalid value: '12'. The model 'narrow' does not render it on this studio. "
            "Supported values are: '4' and '8'."
        )
        assert Video.objects.count() == 1

    def test_an_uploaded_edit_takes_the_closest_size_the_route_allows(self, user: User) -> None:
        portrait = SimpleUploadedFile("clip.mp4", mp4_bytes(1.0, size=(180, 320)))
        video = services.video_edit(owner=user, prompt="p", upload=portrait, model="narrow")
        assert video.size == "1280x720"  # sora-2 would have taken 720x1280
        assert video.provider == "gateway"


def test_the_form_starts_from_an_offered_model_when_the_default_is_off(client_in: Client) -> None:
    ModelRoute.objects.filter(name="sora-2").update(enabled=False)
    html = client_in.get("/videos/new").content.decode()
    assert '<option value="sora-2-pro" selected>' in html
    assert "Estimated cost: free" in html
