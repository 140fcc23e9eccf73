"""The API's error envelope, and the messages it uses, in the upstream service's style.

Every error the /v1 API answers is ``{"error": {"message", "type", "param", "code"}}``
with all four keys present; the status picks the SDK's exception class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import JsonResponse
from pydantic import BaseModel, ConfigDict


def is_api_path(path: str) -> bool:
    """Whether a request's path is the /v1 API's (which answers only in the envelope)."""
    return path == "/v1" or path.startswith("/v1/")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    message: str
    type: str
    param: str | None
    code: str | None


class Error(BaseModel):
    """The body of every error: all four keys present, `param` and `code` may be null."""

    error: ErrorDetail


class ApiError(Exception):
    """Raised anywhere below an API view; the view decorator turns it into the envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})

    def response(self) -> JsonResponse:
        return error_response(
            self.status,
            self.message,
            param=self.param,
            code=self.code,
            type=self.type,
            headers=self.headers,
        )


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    type: str = "invalid_request_error",
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    body = Error(error=ErrorDetail(message=message, type=type, param=param, code=code)).model_dump()
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def quoted_list(values: Iterable[object]) -> str:
    """``'a', 'b', and 'c'``: how the upstream lists supported values."""
    items = [f"'{value}'" for value in values]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def type_name(value: Any) -> str:
    """How a JSON value's type is named in messages: 'an integer', 'a string', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, UploadedFile):
        return "a file"
    return "an unknown type"


def invalid_value(param: str, value: object, supported: Iterable[object]) -> ApiError:
    return ApiError(
        400,
        f"Invalid value: '{value}'. Supported values are: {quoted_list(supported)}.",
        param=param,
        code="invalid_value",
    )


def invalid_type(param: str, expected: str, value: object) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def unknown_parameter(param: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def missing_parameter(param: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def not_found(kind: str, object_id: str, *, param: str | None = None) -> ApiError:
    return ApiError(404, f"{kind} with id '{object_id}' not found.", param=param, code="not_found")


def from_validation_error(exc: ValidationError, *, status: int = 400) -> ApiError:
    """A service's ValidationError as the envelope: a field's error names it as ``param``.
    A monthly cap reached is 429 ``insufficient_quota``, as the retired API answered."""
    if getattr(exc, "code", None) == "insufficient_quota":
        return ApiError(
            429, " ".join(exc.messages), type="insufficient_quota", code="insufficient_quota"
        )
    if hasattr(exc, "error_dict"):
        param, errors = next(iter(exc.error_dict.items()))
        first = errors[0]
        return ApiError(
            status,
            " ".join(first.messages),
            param=None if param == "__all__" else param,
            code=first.code or "invalid_value",
        )
    first = exc.error_list[0]
    return ApiError(status, " ".join(first.messages), code=first.code or "invalid_request")
