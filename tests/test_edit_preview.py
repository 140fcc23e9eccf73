"""An edit says what it will apply before it runs, and refuses a prompt it understands
nothing of (on the page and on /v1) instead of silently running the default look."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api_helpers import (  # noqa: F401  (fixtures)
    api_fixture,
    api_key_fixture,
    assert_error,
)
from tests.factories import make_video, mp4_bytes
from videos_app.models import ModelRoute, Provider, Video
from videos_app.renderer.edit import parse_edit, read_edit


def completed(owner: object, **kwargs: object) -> Video:
    return make_video(owner, status="completed", size="1280x720", seconds=4, **kwargs)  # type: ignore[arg-type]


class TestReading:
    def test_it_lists_what_it_applies_in_the_prompts_order(self) -> None:
        reading = read_edit("black and white, vignette, caption 'Final cut'")
        assert reading.applied == ["black and white", "vignette", "caption \u2018Final cut\u2019"]
        assert reading.unknown == ()

    def test_curly_quotes_and_apostrophes(self) -> None:
        reading = read_edit("reverse the kids' clip, caption \u201cThe End\u201d")
        assert reading.applied == ["reversed", "caption \u2018The End\u2019"]
        assert reading.unknown == ("kids'",)

    def test_it_names_what_it_did_not_understand(self) -> None:
        reading = read_edit("make it look more cinematic and add a dragon")
        assert not reading.understood
        assert reading.unknown == ("cinematic", "dragon")
        reading = read_edit("sepia, and a dragon")
        assert reading.understood and reading.applied == ["sepia"]
        assert reading.unknown == ("dragon",)

    def test_the_renderer_reads_the_same_way(self) -> None:
        edit = parse_edit("slow-mo, 'Final cut'")
        assert edit.effects == {"slow"} and edit.caption == "Final cut"


class TestPage:
    def test_a_prompt_it_understands_nothing_of_is_refused_and_nothing_is_made(
        self, client_in: Client, user: object
    ) -> None:
        source = completed(user)
        response = client_in.post(
            f"/videos/{source.pk}/edit", {"edit-prompt": "make it more cinematic, add a dragon"}
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "Nothing in this prompt names an edit" in page
        assert "not understood: cinematic, dragon" in page
        assert "/videos/edit#vocabulary" in page
        assert Video.objects.count() == 1
        # The preview under the prompt, for the prompt as typed (the form is prefixed).
        assert "edit-preview__none" in page and "cinematic, dragon" in page

    def test_the_default_look_runs_only_when_asked(self, client_in: Client, user: object) -> None:
        source = completed(user)
        response = client_in.post(
            f"/videos/{source.pk}/edit",
            {"edit-prompt": "make it more cinematic", "edit-default_look": "on"},
        )
        assert response.status_code == 302
        edit = Video.objects.exclude(pk=source.pk).get()
        assert edit.operation == "edit" and edit.prompt == "make it more cinematic"

    def test_an_uploaded_file_is_refused_the_same_way(self, client_in: Client) -> None:
        clip = ("clip.mp4", mp4_bytes(), "video/mp4")
        response = client_in.post(
            "/videos/edit",
            {"prompt": "a dragon", "model": "sora-2", "video": SimpleUploadedFile(*clip)},
        )
        assert response.status_code == 400
        assert "Nothing in this prompt names an edit" in response.content.decode()
        assert not Video.objects.exists()

    def test_the_preview_says_what_will_be_applied(self, client_in: Client) -> None:
        plain = client_in.get("/videos/edit/preview", {"edit-prompt": "monochrome, vignette 'Hi'"})
        assert plain.status_code == 200
        body = plain.content.decode()
        assert "Will apply:" in body and "black and white" in body and "\u2018Hi\u2019" in body
        htmx = client_in.get(
            "/videos/edit/preview", {"prompt": "a dragon"}, headers={"HX-Request": "true"}
        )
        assert "would be refused" in htmx.content.decode() and "dragon" in htmx.content.decode()
        assert client_in.get("/videos/edit/preview").content.decode().strip() == ""

    def test_the_edit_tool_asks_for_the_preview_with_the_videos_model(
        self, client_in: Client, user: object
    ) -> None:
        source = completed(user)
        page = client_in.get(source.get_absolute_url()).content.decode()
        assert 'hx-get="/videos/edit/preview"' in page
        assert "hx-vals='{&quot;model&quot;: &quot;sora-2&quot;}'" in page or (
            'hx-vals="{&quot;model&quot;: &quot;sora-2&quot;}"' in page
        )


@pytest.fixture
def upstream_route(db: None) -> ModelRoute:
    provider = Provider.objects.create(
        name="elsewhere",
        kind="openai_compatible",
        label="Elsewhere",
        base_url="http://127.0.0.1:9/v1",
    )
    return ModelRoute.objects.create(name="far-model", provider=provider, upstream_model="m")


def test_another_engine_reads_the_prompt_itself(
    client_in: Client, upstream_route: ModelRoute
) -> None:
    body = client_in.get(
        "/videos/edit/preview", {"prompt": "add a dragon", "model": "far-model"}
    ).content.decode()
    assert "Sent to Elsewhere as written" in body and "refused" not in body


class TestApi:
    def test_it_answers_400_with_the_vocabularys_address(self, api: Client, user: object) -> None:
        source = completed(user)
        error = assert_error(
            api.post("/v1/videos/edits", {"prompt": "add a dragon", "video[id]": source.pk}),
            400,
            param="prompt",
            code="edit_not_understood",
        )
        assert "http://testserver/videos/edit#vocabulary" in error["message"]
        assert "not understood: dragon" in error["message"]
        assert Video.objects.count() == 1

    def test_default_look_asks_for_the_default(self, api: Client, user: object) -> None:
        source = completed(user)
        response = api.post(
            "/v1/videos/edits",
            {"prompt": "add a dragon", "video[id]": source.pk, "default_look": "true"},
        )
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "queued"

    def test_the_openapi_document_names_the_extension(self, api: Client) -> None:
        document = api.get("/v1/openapi.json").content.decode()
        assert "default_look" in document and "edit_not_understood" in document
