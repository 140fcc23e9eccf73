"""The field types of the /v1 contract: how a wire value is checked, and how it is documented.

Each type checks one kind of value as both encodings deliver it (JSON keeps its types;
multipart sends strings and ``UploadedFile`` parts, ``parsing`` nests its bracket keys) and
documents it in the OpenAPI components. A refusal is a ``PydanticCustomError`` that
``schemas`` words in the upstream's style: its type says which refusal, its context what
the wording needs (``expected``, ``values``; ``api_error`` carries a whole ApiError).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from django.core.files.uploadedfile import UploadedFile
from django.core.validators import ProhibitNullCharactersValidator
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from videos_app.providers import catalog

from .errors import ApiError, from_validation_error

BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
# The union tags of a file-or-object field; not identifiers, so never a field's name.
FILE_TAG, OBJECT_TAG = "<file>", "<object>"


class Body(BaseModel):
    """A request body or a nested object of one: unknown keys refused, JSON types kept.

    A null counts as absent (older clients send ``"model": null``), so it takes the default
    or is missing, as upstream; an unknown key is refused even when null."""

    model_config = ConfigDict(strict=True, extra="forbid", arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields}
        return data


def refused(error: ApiError) -> PydanticCustomError:
    """An ApiError carried through validation (so the first refusal still wins)."""
    return PydanticCustomError(
        "api_error",
        error.message,
        {"status": error.status, "param": error.param, "code": error.code},
    )


def invalid_type(expected: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_type", "expected {expected}", {"expected": expected})


def invalid_value(values: Iterable[object]) -> PydanticCustomError:
    return PydanticCustomError("invalid_value", "not a supported value", {"values": list(values)})


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("nul_character", str(ProhibitNullCharactersValidator.message))
    return value


NoNul = BeforeValidator(_no_nul)
# A string with no NUL character (the database refuses them). With constraints, put them
# on ``str`` itself, before NoNul: pydantic then checks them as string constraints.
Text = Annotated[str, NoNul]


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (an ``enum`` in the document), refused as ``Invalid value: ...``."""

    values: Sequence[str]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "enum": list(self.values)}

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise invalid_value(self.values)
        return value


# The model names documented by the document being built (the routing table's, read per
# request by ``openapi.document``); parsing reads the table itself.
documented_models: ContextVar[Sequence[str]] = ContextVar("documented_models", default=())


class _RouteSchema:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(documented_models.get())}


def _route(value: Any) -> catalog.Route:
    if not isinstance(value, str):
        raise invalid_type("a string")
    _no_nul(value)
    try:
        return catalog.route(value)
    except catalog.ModelUnavailable as exc:
        raise refused(from_validation_error(exc)) from None


# A model name, parsed to its route: unknown or turned off is a 400 naming ``model``.
ModelRoute = Annotated[catalog.Route, PlainValidator(_route), _RouteSchema()]


def _upload(value: Any) -> UploadedFile:
    if not isinstance(value, UploadedFile):
        raise invalid_type("a file")
    return value


# A file part of a multipart body; its type is decided later, from its content.
Upload = Annotated[UploadedFile, PlainValidator(_upload), WithJsonSchema(BINARY)]


def _file_or_object(value: Any) -> str | None:
    if isinstance(value, UploadedFile):
        return FILE_TAG
    return OBJECT_TAG if isinstance(value, dict) else None


def file_or(model: type[Body]) -> Any:
    """An uploaded file, or ``model`` (as JSON, or as bracket keys in multipart)."""
    return Annotated[
        Annotated[Upload, Tag(FILE_TAG)] | Annotated[model, Tag(OBJECT_TAG)],
        Discriminator(
            _file_or_object,
            custom_error_type="file_or_object",  # worded by schemas
            custom_error_message="expected a file or an object",
        ),
    ]


def one_or_many(value: Any) -> Any:
    """A list as given; one value (a multipart body's single part) as a list of one."""
    return value if isinstance(value, list) else [value]


def array_of_objects(value: Any) -> Any:
    if not isinstance(value, list):
        raise invalid_type("an array of objects")
    return value


def _or_list(values: Sequence[str]) -> str:
    items = [f"'{value}'" for value in values]
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


@dataclass(frozen=True)
class WireSeconds:
    """A duration: a string on the wire ("4"), an int once parsed; a JSON number is a type
    error, as upstream."""

    values: Sequence[int]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": [str(s) for s in self.values]}

    def _check(self, value: Any) -> int:
        options = [str(s) for s in self.values]
        if not isinstance(value, str):
            raise invalid_type(f"one of {_or_list(options)}")
        if value not in options:
            raise invalid_value(options)
        return int(value)


def _form_bool(value: Any) -> bool:
    # JSON true/false, or "true"/"false" in a form.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_type("a boolean")


FormBool = Annotated[bool, PlainValidator(_form_bool), WithJsonSchema({"type": "boolean"})]


@dataclass(frozen=True)
class IntRange:
    """An integer from ``low`` to ``high``; multipart sends it as digits."""

    low: int
    high: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}

    def _check(self, value: Any) -> int:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid_type("an integer")
        if not self.low <= value <= self.high:
            raise PydanticCustomError(
                "out_of_range",
                "expected an integer between {low} and {high}, but got {value} instead.",
                {"low": self.low, "high": self.high, "value": value},
            )
        return value
