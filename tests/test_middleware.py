"""Site-wide middleware: a page asked for with a trailing slash it does not use."""

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
