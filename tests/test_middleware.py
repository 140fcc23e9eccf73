"""Site-wide middleware: a trailing slash a page does not use; page body limits."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in() -> Client:
    client = Client()
    client.force_login(make_user())
    return client


def test_a_page_asked_for_with_a_slash_it_does_not_use_redirects_there(client_in: Client) -> None:
    response = client_in.get("/characters/?page=2")
    assert response.status_code == 301 and response["Location"] == "/characters?page=2"
    assert client_in.get("/characters").status_code == 200


def test_what_does_not_exist_either_way_stays_404(client_in: Client) -> None:
    assert client_in.get("/nothing-here/").status_code == 404


def test_a_path_that_would_read_as_another_host_is_never_redirected() -> None:
    from django.http import HttpResponseNotFound
    from django.test import RequestFactory

    from studio.middleware import DropTrailingSlashMiddleware

    middleware = DropTrailingSlashMiddleware(lambda request: HttpResponseNotFound())
    request = RequestFactory().get("/")
    request.path = request.path_info = "//characters/"  # "//characters" is another host
    assert middleware(request).status_code == 404


def test_the_api_keeps_its_error_envelope_and_posts_are_not_redirected(client_in: Client) -> None:
    response = client_in.get("/v1/videos/video_missing/")
    assert response.status_code == 404 and response.json()["error"]
    assert client_in.post("/characters/").status_code == 404


def test_an_anonymous_body_over_the_limit_is_refused_unread() -> None:
    from io import BytesIO

    class Unreadable(BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("the body was read")

    response = Client().generic(
        "POST",
        "/login/",
        CONTENT_LENGTH=str(2 * 2**20),
        CONTENT_TYPE="application/x-www-form-urlencoded",
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    assert "at most 1 MB before signing in" in response.content.decode()


def test_a_signed_in_upload_within_the_page_limit_reaches_the_page(client_in: Client) -> None:
    from django.conf import settings

    from videos_app.providers import limits

    assert settings.STUDIO_MAX_PAGE_BODY >= limits.MAX_UPLOAD_BYTES + 2**20  # it fits
    body = {"prompt": "x" * (2 * 2**20), "model": "sora-2", "size": "720x1280", "seconds": "4"}
    response = client_in.post("/videos/new", body)
    assert response.status_code not in (411, 413)


def test_a_chunked_page_body_is_refused_and_v1_keeps_its_own_rules() -> None:
    response = Client().post("/login/", {}, HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411
    response = Client().post("/v1/videos", {}, HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 401  # /v1's own answer, in its envelope
    assert response.json()["error"]
