"""The OpenAPI document matches the routes, and a fuzzing pass over it finds no 5xx.

The fuzzing pass runs schemathesis in-process against the WSGI app, with a bounded
number of examples per operation so it stays well under a minute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_helpers import Key, make_key
from tests.factories import make_user
from videos_app.api import contract, openapi
from videos_app.api.urls import urlpatterns

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# The seed's routes (migration 0005): the model enum is read from the routing table,
# which these tests, some of them run at collection time, do not touch.
SEED_MODELS = (
    "sora-2",
    "sora-2-pro",
    "sora-2-2025-10-06",
    "sora-2-pro-2025-10-06",
    "sora-2-2025-12-08",
)


def seed_document() -> dict[str, Any]:
    return openapi.document(models=SEED_MODELS)


def routed_operations() -> set[tuple[str, str]]:
    operations = set()
    for pattern in urlpatterns:
        if pattern.name == "unknown_url":
            continue
        route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for method in pattern.callback.api_methods:  # type: ignore[attr-defined]
            operations.add((route, method.lower()))
    return operations


def documented_operations() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in seed_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_routed_operation_is_documented_and_vice_versa() -> None:
    assert routed_operations() == documented_operations()


def test_every_operation_documents_the_error_envelope_and_request_id() -> None:
    document = seed_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                assert "x-request-id" in response["headers"], (path, method, status)
                if status.startswith(("4", "5")) or status == "default":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)


@pytest.mark.django_db
def test_the_served_document_is_the_generated_one(client: Any) -> None:
    assert client.get("/v1/openapi.json").json() == openapi.document()


def test_every_operation_id_is_unique() -> None:
    ids = [
        operation["operationId"]
        for item in seed_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))


def test_the_operations_document_both_encodings_and_their_errors() -> None:
    document = seed_document()
    paths = document["paths"]
    for path in ("/videos", "/videos/{video_id}/remix", "/videos/edits", "/videos/extensions"):
        content = paths[path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data"}, path
    # A character's clip is a file part, which JSON cannot carry.
    character = paths["/videos/characters"]["post"]
    assert set(character["requestBody"]["content"]) == {"multipart/form-data"}
    assert {"200", "400", "401", "413", "429"} <= set(character["responses"])
    for path in ("/videos/{video_id}/remix", "/videos/edits", "/videos/extensions"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "400", "401", "404", "413", "429"} <= set(responses), path
        assert responses["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Video"
        }
    assert "unsupported_operation" not in json.dumps(document)


def test_the_components_are_generated_from_the_contract_models() -> None:
    schemas = seed_document()["components"]["schemas"]
    for name, model in (("Video", contract.Video), ("File", contract.File)):
        assert schemas[name]["required"] == list(model.model_fields), name
    create = schemas["CreateVideoRequest"]["properties"]
    assert list(create) == list(contract.VideoCreate.model_fields)
    # Multipart carries nested values as bracket keys, every value as text.
    upload = schemas["CreateFileRequest"]["properties"]
    assert {"expires_after[anchor]", "expires_after[seconds]"} <= set(upload)
    multipart = schemas["CreateVideoMultipartRequest"]["properties"]
    assert multipart["private"] == {
        "type": "string",
        "enum": ["true", "false"],
        "description": create["private"]["description"],
    }


REQUESTS = [
    # (schema, body as a client sends it, accepted)
    ("EditVideoRequest", {"prompt": "p", "video": {"id": "video_1"}}, True),
    ("EditVideoRequest", {"prompt": "p"}, False),
    ("EditVideoMultipartRequest", {"prompt": "p", "video[id]": "video_1"}, True),
    ("EditVideoMultipartRequest", {"prompt": "p", "video": "<bytes>", "model": "sora-2"}, True),
    ("EditVideoMultipartRequest", {"prompt": "p"}, False),
    ("EditVideoMultipartRequest", {"prompt": "p", "video": "<bytes>", "video[id]": "v"}, False),
    ("ExtendVideoRequest", {"prompt": "p", "seconds": "4", "video": {"id": "video_1"}}, True),
    ("ExtendVideoRequest", {"prompt": "p", "seconds": 4, "video": {"id": "video_1"}}, False),
    ("ExtendVideoMultipartRequest", {"prompt": "p", "seconds": "4", "video": "<bytes>"}, True),
    ("ExtendVideoMultipartRequest", {"prompt": "p", "seconds": "4", "video[id]": "v"}, True),
    ("ExtendVideoMultipartRequest", {"prompt": "p", "video[id]": "v"}, False),
    ("CreateCharacterRequest", {"name": "Mo", "video": "<bytes>"}, True),
    ("CreateCharacterRequest", {"name": "Mo", "video": "<bytes>", "width": "1"}, False),
    ("CreateVideoRequest", {"prompt": "p", "characters": [{"id": "char_1"}]}, True),
    ("CreateVideoMultipartRequest", {"prompt": "p", "characters[][id]": ["a", "b"]}, True),
    ("CreateVideoMultipartRequest", {"prompt": "p", "characters[][id]": ["a", "b", "c"]}, False),
    ("RemixVideoRequest", {"prompt": "p"}, True),
]


@pytest.mark.parametrize(("name", "body", "accepted"), REQUESTS)
def test_the_request_schemas_take_what_clients_send(
    name: str, body: dict[str, Any], accepted: bool
) -> None:
    schema = seed_document()["components"]["schemas"][name]
    assert jsonschema_rs.Draft202012Validator(schema).is_valid(body) is accepted


# --- fuzzing --------------------------------------------------------------------------


@pytest.fixture
def fuzz_key(db: None, settings: Any) -> Iterator[Key]:
    settings.STUDIO_API_RATE_LIMIT = 0
    # The WSGI handler would close the test's connection (and its transaction) after
    # each request, as Django's own test client prevents.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield make_key(make_user("fuzzer"))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Loaded from the generated document (the sync tests above hold it to the served one),
# and called in-process through the WSGI app.
schema = schemathesis.openapi.from_dict(seed_document())
schema.app = WSGIHandler()


def error_envelope(ctx: Any, response: Any, case: Any) -> bool:
    """Every error answers the four-key envelope with a request id."""
    assert response.headers.get("x-request-id"), "no x-request-id"
    if response.status_code >= 400:
        body = response.json()
        assert list(body) == ["error"], body
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return True


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzzing_finds_no_server_errors_and_only_enveloped_errors(case: Any, fuzz_key: Key) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_key.raw}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            error_envelope,
        ],
    )
