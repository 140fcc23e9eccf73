"""Small request/response rules that belong to the site rather than to one app."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve


class DropTrailingSlashMiddleware:
    """Send ``/characters/`` to ``/characters`` when only the latter exists.

    Django's APPEND_SLASH covers the opposite case; people type either form, and a
    page that exists should not answer 404 for a slash. Only for pages (not /v1, whose
    clients get the API's error envelope) and only for GET and HEAD."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if (
            response.status_code != 404
            or request.method not in ("GET", "HEAD")
            or not path.endswith("/")
            or path.startswith(("/v1/", "//"))
            or path == "/"
        ):
            return response
        target = path.rstrip("/")
        try:
            resolve(target)
        except Resolver404:
            return response
        prefix = request.path[: len(request.path) - len(path)]  # the script name, if any
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(prefix + target + (f"?{query}" if query else ""))
