"""Parsing a request with its ``contract`` model: typed values out, or ApiError(400).

Messages follow the upstream service (``Invalid value: '1080x1080'. Supported values
are: ...``, ``Unknown parameter: 'width'.``) with ``param`` naming the field by its dotted
path (``input_reference.file_id``, ``characters[1].id``). Only the first refusal is
answered, the one the old field-by-field checks met first (``first_refusal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails

from .errors import ApiError, invalid_type, invalid_value, missing_parameter, unknown_parameter
from .fields import FILE_TAG, OBJECT_TAG

M = TypeVar("M", bound=BaseModel)

# Pydantic's own type errors, in the upstream's words for the expected type.
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "a boolean",
    "int_type": "an integer",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "file_or_object": "a file or an object",
}


def parse[M: BaseModel](model: type[M], params: Mapping[str, Any]) -> M:
    """``params`` (a nested body from ``parsing``, or a query) as ``model``."""
    try:
        return model.model_validate(dict(params))
    except PydanticError as exc:
        raise api_error(first_refusal(exc.errors(include_url=False))) from None


def first_refusal(errors: list[ErrorDetails]) -> ErrorDetails:
    """The refusal a field-by-field check would meet first: at each level an unknown key,
    else the first field with an error, looked into in turn."""
    located = [(_path(error["loc"]), error) for error in errors]
    depth = 0
    while True:
        for loc, error in located:
            if error["type"] == "extra_forbidden" and len(loc) == depth + 1:
                return error
        loc, error = located[0]
        if len(loc) <= depth + 1:
            return error
        located = [(other, e) for other, e in located if other[: depth + 1] == loc[: depth + 1]]
        depth += 1


def _path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    return tuple(part for part in loc if part not in (FILE_TAG, OBJECT_TAG))


def label(loc: tuple[int | str, ...]) -> str:
    """A location as messages name it: ``characters[0].id``, ``input_reference.file_id``."""
    out = ""
    for part in _path(loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def api_error(error: ErrorDetails) -> ApiError:
    kind, name, value = error["type"], label(error["loc"]), error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "api_error":
        return ApiError(ctx["status"], error["msg"], param=ctx["param"], code=ctx["code"])
    if kind == "extra_forbidden":
        return unknown_parameter(name)
    if kind == "missing":
        return missing_parameter(name)
    if kind == "invalid_type":
        return invalid_type(name, ctx["expected"], value)
    if kind in _EXPECTED:
        return invalid_type(name, _EXPECTED[kind], value)
    if kind == "invalid_value":
        return invalid_value(name, value, ctx["values"])
    if kind == "string_too_short":
        return ApiError(
            400,
            f"Invalid '{name}': empty string. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=name,
            code="empty_string",
        )
    if kind == "string_too_long":
        # Every string with a maximum is stripped first.
        return ApiError(
            400,
            f"Invalid '{name}': string too long. Expected a string with maximum length "
            f"{ctx['max_length']}, but got a string with length {len(str(value).strip())} "
            "instead.",
            param=name,
            code="string_above_max_length",
        )
    if kind == "too_long":
        return ApiError(
            400,
            f"Invalid '{name}': array too long. Expected an array with maximum length "
            f"{ctx['max_length']}, but got an array with length {ctx['actual_length']} instead.",
            param=name,
            code="array_above_max_length",
        )
    # nul_character, out_of_range, limit_range and the rest: pydantic's message, naming the field.
    return ApiError(400, f"Invalid '{name}': {error['msg']}", param=name, code="invalid_value")
