"""The /v1 contract, described once: what each endpoint takes and what it answers.

The request models parse bodies and queries (``schemas.parse``); the response models shape
every object the API answers (``objects``); both generate the OpenAPI components
(``openapi``). Field types live in ``fields``. Which models, sizes and durations a route
renders is the routing table's to say, read when a request is parsed.

To add a field: declare it on its model here (the document follows), then use it in the
view. Field order is check order: the first refusal is the one answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from videos_app.providers import catalog
from videos_app.providers.base import ASSET_VARIANTS
from videos_app.takes.models import MAX_TAKES

from .errors import ApiError, from_validation_error
from .fields import (
    Body,
    Choice,
    FormBool,
    IntRange,
    ModelRoute,
    NoNul,
    Text,
    Upload,
    WireSeconds,
    array_of_objects,
    file_or,
    one_or_many,
    refused,
)

MAX_CHARACTER_NAME = 80
LIST_MAX_LIMIT = 100
LIST_DEFAULT_LIMIT = 20
CONTENT_VARIANTS = tuple(ASSET_VARIANTS)
FILE_PURPOSES = ("vision", "user_data")
FILE_EXPIRY_SECONDS = (3600, 30 * 24 * 3600)  # the bounds upstream allowed

Required = Annotated[str, StringConstraints(min_length=1), NoNul]
# Stripped, like the page form's prompt field.
Prompt = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=catalog.MAX_PROMPT_LENGTH),
    NoNul,  # a before-validator: checked first, whatever its place
]


# --- requests -------------------------------------------------------------------------


class IdRef(Body):
    id: Required


class SourceVideo(Body):
    """A completed video the key can see (`video_...`); the result keeps its model, size and
    seed."""

    id: Required


class ImageReference(Body):
    """Exactly one of `file_id` (from /v1/files) or `image_url` (an https URL, fetched only
    where the studio allows it, or a base64 data URL)."""

    file_id: Text | None = None
    image_url: Text | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.file_id is None) == (self.image_url is None):
            raise refused(
                ApiError(
                    400,
                    "Invalid 'input_reference': provide exactly one of 'file_id' or 'image_url'.",
                    param="input_reference",
                    code="invalid_value",
                )
            )
        return self


if TYPE_CHECKING:
    ImageInput = UploadedFile | ImageReference
    VideoInput = UploadedFile | SourceVideo
else:
    ImageInput = file_or(ImageReference)
    VideoInput = file_or(SourceVideo)

_UPLOAD_MB = catalog.MAX_UPLOAD_BYTES // (1024 * 1024)
_SOURCE = f"An MP4 (decided from its content, not its name or type) of at most {_UPLOAD_MB} MB."


class VideoCreate(Body):
    prompt: Prompt
    model: ModelRoute = Field(default=catalog.DEFAULT_MODEL, validate_default=True)
    # A documented size the model's route leaves out says it is the model (the document
    # lists every size and duration): checked after the fields, by the route.
    # Any size some model makes is documented; the model's route says which it makes.
    size: Annotated[Text, WithJsonSchema({"type": "string", "enum": list(catalog.ALL_SIZES)})] = (
        catalog.DEFAULT_SIZE
    )
    seconds: Annotated[int, WireSeconds(catalog.ALL_SECONDS)] = Field(
        default=str(catalog.DEFAULT_SECONDS), validate_default=True
    )
    input_reference: ImageInput | None = Field(
        default=None,
        description="A JPEG, PNG or WebP image of exactly `size`, used as the first frame.",
    )
    input_reference_fit: FormBool = Field(
        default=False,
        description="A studio extension: crop an `input_reference` of other dimensions "
        "evenly from both sides to the video's shape, then resize it to `size` (as the "
        "studio's create page does). Absent or false: the image must be exactly `size`.",
    )
    # Extensions beyond the retired API; a model that does not take one refuses it (400,
    # naming the model and the field).
    last_frame: ImageInput | None = Field(
        default=None,
        description="A studio extension: an image the video ends on (as `input_reference`, "
        "exactly `size` unless `input_reference_fit`), for models that take one.",
    )
    reference_images: Annotated[
        list[ImageInput],
        BeforeValidator(one_or_many),
        Field(max_length=catalog.MAX_REFERENCE_IMAGES),
    ] = Field(
        default_factory=list,
        description="A studio extension: up to "
        f"{catalog.MAX_REFERENCE_IMAGES} images of what the video shows (a subject, a "
        "product, a style), each as `input_reference` takes one but of any size, for "
        "models that take them (how many: the model's capabilities). In a multipart body, "
        "repeat the `reference_images[]` part.",
    )
    negative_prompt: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=2000), NoNul
    ] = Field(
        default="",
        description="A studio extension: what the video should not show, for models that take one.",
    )
    seed: Annotated[int, IntRange(0, 2**32 - 1)] | None = Field(
        default=None,
        description="A studio extension: the random seed, for models that take one (the "
        "same seed and settings make the same video). Absent: a new one.",
    )
    audio: FormBool | None = Field(
        default=None,
        description="A studio extension: sound on (true) or off (false), for models that "
        "make sound. Absent: the model's default.",
    )
    characters: Annotated[
        list[IdRef], BeforeValidator(array_of_objects), Field(max_length=catalog.MAX_CHARACTERS)
    ] = Field(
        default_factory=list,
        description="Characters to show, by id (`char_...`). Characters named in the prompt "
        f"are added too; at most {catalog.MAX_CHARACTERS} in all.",
    )
    team: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul] | None = (
        Field(
            default=None,
            description="A studio extension: the slug of the team the video goes into (its "
            "members see it). Absent: the key user's first team they may create in; empty: no "
            "team (only the user and staff see it). A team the user cannot see answers 404, one "
            "they may not create in (a viewer) 403.",
        )
    )
    private: FormBool = Field(
        default=False,
        description="A studio extension: keep the video to its creator and staff even "
        "inside its team.",
    )
    n: Annotated[int, IntRange(1, MAX_TAKES)] = Field(
        default=1,
        description=f"A studio extension: how many takes of the prompt to make at once (1 "
        f"to {MAX_TAKES}), each its own video and job with its own seed (`seed`, `seed` + 1, "
        "… when a seed is given, else distinct random ones), made all or none. The answer "
        "is the first take, with every take's id in `takes`.",
    )
    # OpenAI's end-user identifier, which clients of the retired service (LiteLLM among
    # them) send on every call: accepted, and ignored.
    user: Text | None = Field(default=None, description="Accepted and ignored.")

    @model_validator(mode="after")
    def _route_renders_it(self) -> Self:
        try:
            self.model.check(size=self.size, seconds=self.seconds)
            self.model.check_inputs(
                first_frame=self.input_reference is not None,
                last_frame=self.last_frame is not None,
                reference_images=len(self.reference_images),
                audio=self.audio,
                negative_prompt=self.negative_prompt,
                seed_given=self.seed is not None,
            )
        except ValidationError as exc:
            raise refused(from_validation_error(exc)) from None
        return self


class VideoRemix(Body):
    prompt: Prompt


class VideoEdit(Body):
    prompt: Prompt
    video: VideoInput = Field(description=_SOURCE + f" At most {catalog.MAX_EDIT_SECONDS} s.")
    model: ModelRoute | None = Field(
        default=None,
        description="For an uploaded source only; an edit of a video id keeps its model.",
    )
    default_look: FormBool = Field(
        default=False,
        description="A studio extension: on the studio's own renderer an edit prompt that "
        "names none of its effects or a quoted caption is refused (400, "
        "`edit_not_understood`, naming the vocabulary's page). True: run the default look "
        "instead (a warm grade, a vignette and the prompt as a caption), as the renderer "
        "did before.",
    )


class VideoExtend(Body):
    prompt: Prompt
    seconds: Annotated[int, WireSeconds(catalog.ALL_SECONDS)] = Field(
        description="The new segment's length (a string), one the model makes. The "
        f"result's `seconds` is the stitched total, at most {catalog.MAX_TOTAL_SECONDS}."
    )
    video: VideoInput = Field(description=_SOURCE)


class CharacterCreate(Body):
    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHARACTER_NAME),
        NoNul,
    ]
    # A video id parses (and is refused by the view in words of its own); the document
    # shows the clip only.
    video: VideoInput = Field(
        description="An MP4 clip of the character, "
        f"{catalog.MIN_CHARACTER_SECONDS:g} to {catalog.MAX_CHARACTER_SECONDS:g} s (2 to 4 s "
        f"works best), at most {catalog.MAX_CHARACTER_BYTES // (1024 * 1024)} MB.",
        json_schema_extra={"x-upload": True},
    )


class ExpiresAfter(Body):
    anchor: Annotated[Required, Choice(("created_at",))]
    seconds: Annotated[int, IntRange(*FILE_EXPIRY_SECONDS)]


class FileCreate(Body):
    file: Upload = Field(description="A JPEG, PNG or WebP image.")
    purpose: Annotated[Required, Choice(FILE_PURPOSES)]
    expires_after: ExpiresAfter | None = Field(
        default=None, description="When the file expires; absent, it is kept."
    )


class Query(BaseModel):
    """Query parameters: strings; unknown ones are ignored, as upstream."""

    model_config = ConfigDict(strict=True, extra="ignore")


def _list_limit(value: Any) -> int:
    if value in (None, ""):
        return LIST_DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = -1
    if not 0 <= limit <= LIST_MAX_LIMIT:
        raise PydanticCustomError(
            "limit_range",
            "expected an integer between 0 and {high}, but got '{raw}' instead.",
            {"high": LIST_MAX_LIMIT, "raw": value},
        )
    return limit


class VideoListQuery(Query):
    after: Annotated[str | None, BeforeValidator(lambda value: value or None)] = Field(
        default=None,
        description="A video id from the previous page (`last_id`); an unknown id is a 400 "
        "with `param: after`.",
    )
    limit: Annotated[
        int,
        BeforeValidator(_list_limit),
        WithJsonSchema({"type": "integer", "minimum": 0, "maximum": LIST_MAX_LIMIT}),
    ] = LIST_DEFAULT_LIMIT
    order: Annotated[Text, Choice(("asc", "desc"))] = "desc"


class ContentQuery(Query):
    variant: Annotated[Text, Choice(CONTENT_VARIANTS)] = "video"


# --- responses ------------------------------------------------------------------------


class Answer(BaseModel):
    """A response object: every key present on every response, nullable ones as null."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class VideoError(Answer):
    code: str
    message: str


class Video(Answer):
    id: str = Field(pattern="^video_")
    object: Literal["video"] = "video"
    model: str
    status: Annotated[str, Choice(("queued", "in_progress", "completed", "failed"))]
    progress: int = Field(ge=0, le=100)
    created_at: int
    completed_at: int | None
    expires_at: int | None
    prompt: str
    size: str
    seconds: str = Field(description='A string, e.g. "4"; for an extension, the stitched total.')
    remixed_from_video_id: str | None
    error: VideoError | None


def _takes_optional(schema: dict[str, Any]) -> None:
    schema["required"].remove("takes")


class VideoCreated(Video):
    """A create's answer: the (first) video. ``takes`` only when the request gave ``n``,
    so that a retired-API client receives exactly what it did."""

    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True, json_schema_extra=_takes_optional
    )

    takes: list[str] = Field(
        description="A studio extension, present when the request gave `n`: the ids of "
        "the takes this create made, this video first."
    )


class VideoList(Answer):
    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(Answer):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: Literal[True] = True


class Character(Answer):
    id: str = Field(pattern="^char_")
    name: str
    created_at: int


class File(Answer):
    id: str = Field(pattern="^file-")
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None
    filename: str
    purpose: Annotated[str, Choice(FILE_PURPOSES)]
    status: Literal["processed"] = "processed"
    status_details: None = None


class FileDeleted(Answer):
    id: str
    object: Literal["file"] = "file"
    deleted: Literal[True] = True
