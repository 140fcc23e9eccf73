"""The two decorators every /v1 view wears: ``api_endpoint`` outside, ``key_required`` in.

``api_endpoint`` owns the wire rules that hold for every response: an ``x-request-id``,
no CSRF and no slash-appending redirects, 405 for other methods, and every failure
(including an unexpected exception) answered as the error envelope. ``key_required``
turns ``Authorization: Bearer <key>`` into ``request.user`` and applies the per-key rate
limit; a session cookie alone is never a credential here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponseBase

from videos_app.models import ApiKey

from . import keys, ratelimit
from .errors import ApiError, error_response

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]


class ApiRequest(HttpRequest):
    """An HttpRequest as seen by an API view behind ``key_required``."""

    request_id: str
    api_key: ApiKey
    user: User
    rate_limit: ratelimit.Usage | None


def new_request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


def api_endpoint(*methods: str) -> Callable[[View], View]:
    """Make a function a /v1 endpoint answering ``methods``."""
    allowed = tuple(method.upper() for method in methods)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            api_request = cast(ApiRequest, request)
            api_request.request_id = new_request_id()
            api_request.rate_limit = None
            try:
                if request.method not in allowed:
                    raise ApiError(
                        405,
                        f"Invalid method for URL ({request.method} {request.path}).",
                        code="method_not_allowed",
                        headers={"Allow": ", ".join(allowed)},
                    )
                response = view(request, *args, **kwargs)
            except Exception as exc:  # every failure leaves as the envelope
                response = _error_for(exc, request)
            response["x-request-id"] = api_request.request_id
            if api_request.rate_limit is not None:
                for name, value in api_request.rate_limit.headers().items():
                    response[name] = value
            return response

        wrapper.csrf_exempt = True  # type: ignore[attr-defined]
        wrapper.should_append_slash = False  # type: ignore[attr-defined]
        # Read by the OpenAPI document's sync test.
        wrapper.api_methods = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator


def _error_for(exc: Exception, request: HttpRequest) -> HttpResponseBase:
    response = error_envelope(exc)
    if response is None:
        logger.exception("API error on %s %s", request.method, request.path)
        response = server_error_envelope()
    return response


def error_envelope(exc: Exception) -> HttpResponseBase | None:
    """The envelope for a failure the API names (a client's mistake); None for any other."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, Http404):
        return error_response(404, str(exc) or "Not found.", code="not_found")
    if isinstance(exc, PermissionDenied):
        return error_response(403, str(exc) or "Permission denied.", code="permission_denied")
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "The request body is too large.", code="request_too_large")
    if isinstance(exc, SuspiciousOperation):
        return error_response(400, "The request could not be read.", code="invalid_request")
    if isinstance(exc, ValidationError):
        return error_response(400, " ".join(exc.messages), code="invalid_request")
    return None


def server_error_envelope() -> HttpResponseBase:
    return error_response(
        500,
        "The server had an error while processing your request.",
        type="server_error",
        code="internal_error",
    )


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_required(view: View) -> View:
    """Authenticate the request by its API key and count it against the key's limit."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        api_request = cast(ApiRequest, request)
        # An address that keeps presenting wrong keys is refused before any lookup.
        failures = f"auth-failures:{request.META.get('REMOTE_ADDR', '')}"
        failure_limit = settings.STUDIO_API_AUTH_FAILURES_PER_MINUTE
        seen = ratelimit.rate_limit_peek(failures, limit=failure_limit)
        if seen is not None and seen.remaining <= 0:
            raise ApiError(
                429,
                "Too many requests with a missing or wrong API key from this address. "
                f"Please try again in {seen.reset_seconds}s.",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": str(seen.reset_seconds)},
            )
        token = bearer_token(request)
        if not token:
            ratelimit.rate_limit_hit(failures, limit=failure_limit)
            raise ApiError(
                401,
                "You didn't provide an API key. Provide it in an Authorization header "
                "using Bearer auth (Authorization: Bearer YOUR_KEY). Create keys at "
                "/account/api-keys.",
                code="invalid_api_key",
            )
        key = keys.api_key_authenticate(token)
        if key is None:
            ratelimit.rate_limit_hit(failures, limit=failure_limit)
            raise ApiError(
                401,
                "Incorrect API key provided. It is unknown or has been revoked.",
                code="invalid_api_key",
            )
        usage = ratelimit.rate_limit_hit(f"key:{key.prefix}")
        api_request.rate_limit = usage
        if usage is not None and usage.exceeded:
            raise ApiError(
                429,
                f"Rate limit reached for requests: {usage.limit} per minute for this key. "
                f"Please try again in {usage.reset_seconds}s.",
                type="requests",
                code="rate_limit_exceeded",
                headers={
                    "retry-after": str(usage.reset_seconds),
                    "retry-after-ms": str(usage.reset_seconds * 1000),
                },
            )
        keys.api_key_touch(key=key)
        api_request.api_key = key
        api_request.user = key.user
        return view(request, *args, **kwargs)

    return wrapper
