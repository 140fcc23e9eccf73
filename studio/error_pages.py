"""The site's error pages: Django's for pages, the API's envelope for /v1.

A request can fail before it reaches a view (a Host header Django refuses, an error in
a middleware); Django then answers with these handlers, so a /v1 client gets the same
envelope and ``x-request-id`` as from any endpoint rather than an HTML page. The
envelopes are the endpoints' own (``api.auth.error_envelope``, ``api.views.unknown_url``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponseBase
from django.views import defaults

from videos_app.api import views as api_views
from videos_app.api.auth import error_envelope, new_request_id, server_error_envelope
from videos_app.api.errors import is_api_path


def _with_request_id(response: HttpResponseBase | None) -> HttpResponseBase:
    assert response is not None  # the exceptions passed below all have an envelope
    response["x-request-id"] = new_request_id()
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    if is_api_path(request.path_info):
        # Whatever Django refused (a Host header, too many fields, BadRequest): unreadable.
        return _with_request_id(error_envelope(SuspiciousOperation()))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    if is_api_path(request.path_info):
        return _with_request_id(error_envelope(PermissionDenied()))
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponseBase:
    if is_api_path(request.path_info):
        return api_views.unknown_url(request)  # sets its own x-request-id
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponseBase:
    if is_api_path(request.path_info):
        return _with_request_id(server_error_envelope())
    return defaults.server_error(request)
