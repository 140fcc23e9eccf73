"""The site's error pages: Django's for pages, the API's envelope for /v1.

A request can fail before it reaches a view (a Host header Django refuses, an error in
a middleware); Django then answers with these handlers, so a /v1 client gets the same
envelope and ``x-request-id`` as from any endpoint rather than an HTML page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from videos_app.api.auth import new_request_id
from videos_app.api.errors import error_response, is_api_path


def _api_error(
    status: int, message: str, code: str, *, type: str = "invalid_request_error"
) -> JsonResponse:
    response = error_response(status, message, code=code, type=type)
    response["x-request-id"] = new_request_id()
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path_info):
        return _api_error(400, "The request could not be read.", "invalid_request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path_info):
        return _api_error(403, "Permission denied.", "permission_denied")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path_info):
        message = f"Invalid URL ({request.method} {request.path})."
        return _api_error(404, message, "unknown_url")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path_info):
        message = "The server had an error while processing your request."
        return _api_error(500, message, "internal_error", type="server_error")
    return defaults.server_error(request)
