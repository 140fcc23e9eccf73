"""Small request/response rules that belong to the site rather than to one app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve

from videos_app.api.errors import is_api_path


class BodySizeLimitMiddleware:
    """Refuse a page request whose body is too large before anything reads it.

    Without this, an anonymous POST of any size was spooled to a temporary file (by the
    CSRF check reading the form) before its 403. Before signing in a body may be
    ``STUDIO_MAX_ANONYMOUS_BODY`` (1 MB: the sign-in and reset forms); signed in,
    ``STUDIO_MAX_PAGE_BODY`` (the largest upload a page takes, with room for its form).
    A chunked body (no Content-Length, which browsers always send) is refused: it could
    not be counted before reading. /v1 has its own limit and error envelope.
    Must come right after SessionMiddleware, ahead of anything that reads the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path_info):
            return self.get_response(request)
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _refusal(411, "A request body must say its length (Content-Length).")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refusal(400, "Content-Length is not a number.")
        if length <= settings.STUDIO_MAX_ANONYMOUS_BODY:
            return self.get_response(request)  # no session read: most requests, polls too
        signed_in = (
            settings.SESSION_COOKIE_NAME in request.COOKIES and SESSION_KEY in request.session
        )
        limit = settings.STUDIO_MAX_PAGE_BODY if signed_in else settings.STUDIO_MAX_ANONYMOUS_BODY
        if length > limit:
            why = "" if signed_in else " before signing in"
            return _refusal(413, f"The request is too large (at most {limit // 2**20} MB{why}).")
        return self.get_response(request)


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


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
            or is_api_path(path)
            or path.startswith("//")
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
