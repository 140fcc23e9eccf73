"""Fetching http(s) image URLs: off by default; when on, nothing inside the network is reached.

The canaries are real HTTP servers on loopback that count the requests they get.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.api_helpers import (  # noqa: F401  (fixtures)
    Canary,
    api_fixture,
    api_key_fixture,
    assert_error,
    canary2_fixture,
    canary_fixture,
)
from tests.factories import image_bytes
from videos_app.api import addresses, fetch
from videos_app.models import Video

pytestmark = pytest.mark.django_db


def create_with_url(api: Client, url: str, size: str = "720x1280") -> Any:
    body = {"prompt": "p", "size": size, "input_reference": {"image_url": url}}
    return api.post("/v1/videos", json.dumps(body), content_type="application/json")


def loopback_only(address: str) -> bool:
    return address == "127.0.0.1"


class TestFetchSwitch:
    def test_it_is_off_by_default(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        if hasattr(settings, "STUDIO_ALLOW_IMAGE_URL_FETCH"):
            del settings.STUDIO_ALLOW_IMAGE_URL_FETCH
        monkeypatch.delenv("STUDIO_ALLOW_IMAGE_URL_FETCH", raising=False)
        assert fetch.fetch_enabled() is False
        monkeypatch.setenv("STUDIO_ALLOW_IMAGE_URL_FETCH", "true")
        assert fetch.fetch_enabled() is True
        settings.STUDIO_ALLOW_IMAGE_URL_FETCH = False
        assert fetch.fetch_enabled() is False

    def test_while_off_the_canary_sees_nothing(self, api: Client, canary: Canary) -> None:
        response = create_with_url(api, canary.url + "/a.png")
        assert_error(response, 400, code="image_url_fetch_disabled")
        assert canary.requests == []


class TestFetchRefusals:
    @pytest.fixture(autouse=True)
    def fetch_on(self, settings: Any) -> None:
        settings.STUDIO_ALLOW_IMAGE_URL_FETCH = True

    def test_it_refuses_loopback_and_the_canary_sees_nothing(
        self, api: Client, canary: Canary
    ) -> None:
        canary.body = image_bytes(720, 1280)
        for url in (
            canary.url + "/a.png",
            canary.url.replace("127.0.0.1", "localhost") + "/a.png",
        ):
            response = create_with_url(api, url)
            error = assert_error(response, 400, param="input_reference", code="invalid_image_url")
            assert "private, loopback or reserved" in error["message"]
        assert canary.requests == []
        assert not Video.objects.exists()

    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",  # noqa: S104
            "240.0.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "not-an-ip",
        ],
    )
    def test_it_refuses_internal_and_reserved_addresses(self, address: str) -> None:
        assert addresses.address_allowed(address) is False

    def test_it_allows_public_addresses(self) -> None:
        assert addresses.address_allowed("93.184.216.34")
        assert addresses.address_allowed("2606:2800:220:1:248:1893:25c8:1946")

    def test_it_refuses_a_name_with_any_internal_address(self) -> None:
        def resolver(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "10.0.0.1"]

        with pytest.raises(fetch.FetchError):
            fetch.image_url_fetch("https://example.com/a.png", max_bytes=100, resolver=resolver)

    def test_it_refuses_other_schemes_and_credentials(self) -> None:
        for url in ("ftp://example.com/a.png", "file:///etc/passwd", "https://u:p@example.com/"):
            with pytest.raises(fetch.FetchError):
                fetch.image_url_fetch(url, max_bytes=100)


class TestFetchWhenAllowed:
    """Loopback is let through only here, by injecting the address check."""

    @pytest.fixture(autouse=True)
    def fetch_on(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        settings.STUDIO_ALLOW_IMAGE_URL_FETCH = True
        monkeypatch.setattr(addresses, "address_allowed", loopback_only)

    def test_it_fetches_an_image_and_uses_it(self, api: Client, canary: Canary) -> None:
        canary.body = image_bytes(720, 1280, "JPEG")
        response = create_with_url(api, canary.url + "/frame.jpg")
        assert response.status_code == 200, response.content
        assert canary.requests == ["/frame.jpg"]
        assert Video.objects.get().reference_image

    def test_it_checks_every_redirect_target_before_following_it(
        self, api: Client, canary: Canary, canary2: Canary
    ) -> None:
        canary.redirect_to = canary2.url + "/inside.png"
        canary2.body = image_bytes(720, 1280)
        response = create_with_url(api, canary.url + "/go")
        assert_error(response, 400, code="invalid_image_url")
        assert canary.requests == ["/go"]
        assert canary2.requests == []  # 127.0.0.2 was refused before any connection

    def test_it_follows_at_most_three_redirects(self, canary: Canary) -> None:
        canary.redirect_to = canary.url + "/again"
        with pytest.raises(fetch.FetchError, match="more than 3"):
            fetch.image_url_fetch(canary.url + "/start", max_bytes=1000)
        assert len(canary.requests) == 4

    def test_it_caps_the_size(self, canary: Canary) -> None:
        canary.body = b"x" * 5000
        with pytest.raises(fetch.FetchError, match="larger"):
            fetch.image_url_fetch(canary.url + "/big", max_bytes=1000)

    def test_it_caps_the_size_without_a_content_length(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=iter([b"x" * 600, b"x" * 600]))

        def resolver(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        with pytest.raises(fetch.FetchError, match="larger"):
            fetch.image_url_fetch(
                "https://images.example/a.png",
                max_bytes=1000,
                resolver=resolver,
                transport=httpx.MockTransport(handler),
            )

    def test_it_connects_to_the_checked_address_with_the_original_host(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, content=b"img")

        def resolver(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        data = fetch.image_url_fetch(
            "https://images.example/a.png?x=1",
            max_bytes=1000,
            resolver=resolver,
            transport=httpx.MockTransport(handler),
        )
        assert data == b"img"
        assert str(seen[0].url) == "https://127.0.0.1/a.png?x=1"
        assert seen[0].headers["Host"] == "images.example"
        assert seen[0].extensions["sni_hostname"] == "images.example"

    def test_it_reports_a_non_200_answer(self) -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(404))
        with pytest.raises(fetch.FetchError, match="HTTP 404"):
            fetch.image_url_fetch(
                "http://images.example/a.png",
                max_bytes=1000,
                resolver=lambda host, port: ["127.0.0.1"],
                transport=transport,
            )

    def test_a_fetched_image_must_still_match_the_size(self, api: Client, canary: Canary) -> None:
        canary.body = image_bytes(100, 100)
        response = create_with_url(api, canary.url + "/small.png")
        assert_error(response, 400, param="input_reference", code="image_size_mismatch")
