"""What each model takes: its engine's documented capabilities, merged with the admin's
per route; ``/v1`` and the services refuse the rest, naming the model."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api_helpers import assert_error, completed_video, make_key
from tests.factories import image_bytes, make_user
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog
from videos_app.providers.base import size_aspect_ratio, size_resolution
from videos_app.providers.capabilities import Capabilities

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    key = make_key(make_user("maker"))
    return Client(headers={"authorization": f"Bearer {key.raw}"})


def local_route(name: str, **capabilities: object) -> ModelRoute:
    return ModelRoute.objects.create(
        name=name, provider=Provider.objects.get(name="local"), capabilities=capabilities
    )


def test_sizes_map_to_the_vendors_terms() -> None:
    assert [size_aspect_ratio(s) for s in ("1280x720", "720x1280", "960x960")] == [
        "16:9", "9:16", "1:1",
    ]  # fmt: skip
    assert size_aspect_ratio("1280x704") == "16:9"  # near enough to read as its family
    assert size_aspect_ratio("1024x1792") == "9:16"  # within 2 %
    assert size_aspect_ratio("1584x672") == "33:14"
    assert [size_resolution(s) for s in ("1280x720", "1920x1080", "3840x2160", "640x360")] == [
        "720p", "1080p", "4k", "360p",
    ]  # fmt: skip


def test_an_admins_overrides_merge_field_by_field_and_bad_values_are_ignored() -> None:
    base = Capabilities(seconds=(4, 8), last_frame=False, reference_images=0)
    merged = base.merged(
        {"last_frame": True, "seconds": [6], "reference_images": 3, "seed": "yes",
         "negative_prompt": 1, "unknown": True, "audio": None}
    )  # fmt: skip
    assert (merged.last_frame, merged.seconds, merged.reference_images) == (True, (6,), 3)
    assert (merged.seed, merged.negative_prompt, merged.audio) == (False, False, False)
    assert base.merged({"reference_images": -1, "sizes": [None, 3]}) == base


def test_the_local_renderer_takes_a_seed_and_refuses_what_it_cannot_make(api: Client) -> None:
    response = api.post("/v1/videos", {"prompt": "p", "seed": "1234"})
    assert response.status_code == 200, response.content
    assert Video.objects.get(pk=response.json()["id"]).seed == 1234
    for field, value, words in (
        ("negative_prompt", "no people", "does not take a negative prompt"),
        ("audio", "true", "makes no sound"),
    ):
        error = assert_error(api.post("/v1/videos", {"prompt": "p", field: value}), 400,
                             param=field)  # fmt: skip
        assert error["message"] == f"The model 'sora-2' {words}."
    last = image_bytes(720, 1280)
    error = assert_error(
        api.post("/v1/videos", {"prompt": "p", "last_frame": _upload(last)}), 400,
        param="last_frame",
    )  # fmt: skip
    assert error["message"] == "The model 'sora-2' does not take a last frame."
    assert Video.objects.count() == 1  # nothing else was made


def test_a_route_that_takes_more_stores_it(api: Client) -> None:
    local_route("framed", last_frame=True, negative_prompt=True)
    response = api.post(
        "/v1/videos",
        {"prompt": "p", "model": "framed", "negative_prompt": "no text",
         "last_frame": _upload(image_bytes(720, 1280))},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert video.negative_prompt == "no text"
    assert video.last_frame.name == f"videos/{video.pk}/last-frame.png"


def test_a_wrongly_sized_last_frame_is_refused_in_its_own_name(api: Client) -> None:
    local_route("framed", last_frame=True)
    error = assert_error(
        api.post("/v1/videos", {"prompt": "p", "model": "framed",
                                "last_frame": _upload(image_bytes(100, 100))}),
        400, param="last_frame",
    )  # fmt: skip
    assert "last_frame" in error["message"] and "input_reference" not in error["message"]
    assert not Video.objects.exists()


def test_sizes_and_durations_come_from_the_models_capabilities(api: Client) -> None:
    local_route("wide-hd", sizes=["1920x1080"], seconds=[5, 10])
    route = catalog.route("wide-hd")
    assert (route.sizes, route.seconds) == (("1920x1080",), (5, 10))
    error = assert_error(
        api.post("/v1/videos", {"prompt": "p", "model": "wide-hd", "size": "1280x720",
                                "seconds": "5"}), 400, param="size",
    )  # fmt: skip
    assert error["message"] == (
        "Invalid value: '1280x720'. The model 'wide-hd' does not render it on this studio. "
        "Supported values are: '1920x1080'."
    )
    error = assert_error(
        api.post("/v1/videos", {"prompt": "p", "model": "wide-hd", "size": "1920x1080",
                                "seconds": "4"}), 400, param="seconds",
    )  # fmt: skip
    assert "Supported values are: '5' and '10'." in error["message"]
    ok = api.post("/v1/videos", {"prompt": "p", "model": "wide-hd", "size": "1920x1080",
                                 "seconds": "10"})  # fmt: skip
    assert ok.status_code == 200, ok.content


def test_a_model_that_cannot_remix_says_which_can(api: Client) -> None:
    local_route("once", remix=False)
    owner = make_user("owner")
    source = completed_video(owner, model="once", provider="local")
    key = make_key(owner)
    client = Client(headers={"authorization": f"Bearer {key.raw}"})
    error = assert_error(
        client.post(
            f"/v1/videos/{source.pk}/remix", {"prompt": "again"}, content_type="application/json"
        ),
        400,
    )  # fmt: skip
    assert error["message"].startswith("The model 'once' cannot remix a video. Models that can:")
    assert "sora-2" in error["message"]


def test_an_extension_is_as_long_as_the_model_makes_a_new_video_when_it_cannot_extend(
    api: Client,
) -> None:
    local_route("no-extend", extend=False, seconds=[5, 10])
    assert catalog.route("no-extend").extension_seconds == (5, 10)
    local_route("native", extend=True, extend_seconds=[7])
    assert catalog.route("native").extension_seconds == (7,)
    assert catalog.route("sora-2").extension_seconds == catalog.EXTENSION_SECONDS


def test_a_model_that_neither_continues_nor_starts_from_an_image_cannot_be_extended(
    api: Client,
) -> None:
    local_route("text-only", extend=False, first_frame=False, seconds=[4, 8])
    owner = make_user("owner")
    source = completed_video(owner, model="text-only", provider="local", seconds=4)
    client = Client(headers={"authorization": f"Bearer {make_key(owner).raw}"})
    body = {"prompt": "and on", "seconds": "4", "video": {"id": source.pk}}
    response = client.post("/v1/videos/extensions", body, content_type="application/json")
    error = assert_error(response, 400)
    assert error["param"] == "model"
    assert error["message"].startswith(
        "The model 'text-only' cannot extend a video: it neither continues one nor starts "
        "from an image (its last frame). Models that can:"
    )
    assert Video.objects.count() == 1
    # Starting from an image is enough: the new segment is stitched on here.
    local_route("from-image", extend=False, first_frame=True, seconds=[4, 8])
    catalog.route("from-image").check_extension(4)


def _upload(data: bytes) -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("frame.png", data, content_type="image/png")


class TestCreatePage:
    def test_controls_show_for_the_models_that_take_them(self) -> None:
        client = Client()
        client.force_login(make_user("painter"))
        page = client.get("/videos/new").content.decode()
        # sora-2 on the studio's renderer: a seed, no last frame, negative prompt or sound.
        assert 'data-capability="seed">' in page
        for field in ("last_frame", "negative_prompt", "audio"):
            assert f'data-capability="{field}" hidden>' in page
        local_route("framed", last_frame=True, negative_prompt=True, sizes=["1920x1080"])
        page = client.get("/videos/new?model=framed").content.decode()
        # Every offered model's sizes are choices (create.js narrows them per model).
        assert 'value="1920x1080"' in page and 'value="720x1280"' in page
        assert '"takes": {"reference_image": true, "last_frame": true' in page

    def test_what_the_model_does_not_take_is_refused_under_its_control(self) -> None:
        client = Client()
        client.force_login(make_user("painter"))
        response = client.post(
            "/videos/new",
            {"prompt": "a quiet harbour", "model": "sora-2", "size": "720x1280",
             "seconds": "4", "negative_prompt": "boats", "audio": "on"},
        )  # fmt: skip
        assert response.status_code == 400
        body = response.content.decode()
        assert "The model &#x27;sora-2&#x27; does not take a negative prompt." in body
        assert "The model &#x27;sora-2&#x27; makes no sound." in body
        assert not Video.objects.exists()

    def test_a_model_that_takes_them_stores_them(self) -> None:
        local_route("framed", last_frame=True, negative_prompt=True)
        client = Client()
        client.force_login(make_user("painter"))
        response = client.post(
            "/videos/new",
            {"prompt": "a quiet harbour", "model": "framed", "size": "720x1280",
             "seconds": "4", "negative_prompt": "boats", "seed": "77", "fit_image": "on",
             "last_frame": _upload(image_bytes(300, 200))},
        )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]
        video = Video.objects.get()
        assert (video.negative_prompt, video.seed, video.model) == ("boats", 77, "framed")
        assert video.last_frame.name.endswith("last-frame.png")


def test_googles_retry_info_is_a_retry_after() -> None:
    import httpx

    from videos_app.providers.http import retry_after_seconds

    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}  # fmt: skip
    assert retry_after_seconds(httpx.Response(429, json=body)) == 7.0
    assert retry_after_seconds(httpx.Response(429, json=body, headers={"retry-after": "2"})) == 2
    assert retry_after_seconds(httpx.Response(429, json={"error": {}})) is None


def test_the_route_admin_takes_capabilities_and_refuses_what_is_not_one() -> None:
    from videos_app.providers.admin import ModelRouteForm

    local = Provider.objects.get(name="local")
    base = {"name": "hd", "provider": local.pk, "upstream_model": "", "position": 0,
            "sizes": "[]", "seconds": "[]", "listed": "on", "enabled": "on"}  # fmt: skip
    ok = ModelRouteForm({**base, "capabilities": '{"last_frame": true, "seconds": [5, 10]}'})
    assert ok.is_valid(), ok.errors
    assert ok.cleaned_data["capabilities"] == {"last_frame": True, "seconds": [5, 10]}
    for bad, words in (
        ('{"lastframe": true}', "Unknown field: lastframe"),
        ('{"seed": "yes"}', "Wrong type for seed"),
        ('{"sizes": ["1x1"]}', "Unknown size: '1x1'"),
        ("[1]", "Give a JSON object"),
    ):
        form = ModelRouteForm({**base, "capabilities": bad})
        assert not form.is_valid()
        assert words in " ".join(form.errors["capabilities"]), form.errors
    form = ModelRouteForm({**base, "sizes": '["1920x1080"]', "capabilities": "{}"})
    assert form.is_valid(), form.errors  # a size some model makes
