"""The core pages' forms: create, remix, extend, edit, characters, and the gallery's filters.

The gallery's filters, search and sort are read from the query string. Use them wherever
"the videos the gallery shows for this URL" are needed::

    form = GalleryFilterForm(request.GET)
    form.is_valid()  # an invalid field is left out of cleaned_data, never raises
    videos = selectors.video_gallery(user=request.user, filters=form.cleaned_data)

``video_gallery`` ignores missing and empty keys, so a half-valid query string filters by
its valid fields only, and ``form.errors`` says what was ignored.

Query parameters (all optional): ``creator`` (username), ``team`` (slug), ``status``,
``model``, ``size``, ``seconds``, ``operation`` (create, remix, extend, edit), ``review``
(draft, in_review, approved, rejected), ``favorites`` (``1``: only mine),
``discarded`` (``1``: only the takes not picked, otherwise hidden), ``versions`` (``1``:
every version of a stack, otherwise its latest one only), ``from`` and ``to``
(dates, ``YYYY-MM-DD``, both inclusive), ``q`` (search words, ``"a phrase"``,
``-word``, ``or``) and ``sort`` (see ``SORTS``). ``page`` is read by the view.
``collection`` (an id) shows only that collection's videos (albums/).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from PIL import Image

from . import search
from .images import (
    KeptUpload,
    image_read,
    kept_upload_delete,
    kept_upload_open,
    kept_upload_save,
    reference_image_any,
    reference_image_sized,
)
from .models import Video
from .providers import catalog, prices, registry
from .providers.limits import format_usd
from .renderer.edit import EditReading, read_edit
from .takes.models import MAX_TAKES

MODEL_UNAVAILABLE = (
    "The model %(value)s is not available: it is unknown or turned off on this studio. "
    "Pick another."
)
KEPT_GONE = (
    "The image kept from your last try is no longer there (kept images last an hour). "
    "Choose the file again."
)


class MultipleImagesInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImagesField(forms.FileField):
    """Several image files in one control (Django's pattern for a multiple file input):
    each read by the one image rule, as PNG bytes of any size."""

    def __init__(self, **kwargs: Any) -> None:
        accept = {"accept": "image/jpeg,image/png,image/webp", "multiple": True}
        super().__init__(widget=MultipleImagesInput(attrs=accept), **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[bytes]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > catalog.MAX_REFERENCE_IMAGES:
            raise forms.ValidationError(
                f"Choose at most {catalog.MAX_REFERENCE_IMAGES} reference images."
            )
        images = []
        for number, upload in enumerate(files, start=1):
            super().clean(upload, initial)
            try:
                images.append(reference_image_any(upload))
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    f"Reference image {number} ({upload.name}): {' '.join(exc.messages)}"
                ) from None
        return images


# The sound control's values (blank: the model's default).
AUDIO_CHOICES: dict[str, bool] = {"on": True, "off": False}


class VideoCreateForm(forms.Form):
    prompt = forms.CharField(
        max_length=catalog.MAX_PROMPT_LENGTH,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "A paper boat drifting down a rainy street at dusk"}
        ),
        error_messages={"required": "Describe the video you want."},
    )
    model = forms.ChoiceField(
        initial=catalog.DEFAULT_MODEL, error_messages={"invalid_choice": MODEL_UNAVAILABLE}
    )
    size = forms.ChoiceField(
        choices=[(size, size.replace("x", " \N{MULTIPLICATION SIGN} ")) for size in catalog.SIZES],
        initial=catalog.DEFAULT_SIZE,
    )
    seconds = forms.TypedChoiceField(
        label="Duration",
        choices=[(s, f"{s} seconds") for s in catalog.SECONDS],
        coerce=int,
        initial=catalog.DEFAULT_SECONDS,
    )
    reference_image = forms.FileField(
        required=False,
        label="Reference image",
        help_text="Optional first frame: a JPEG, PNG or WebP image.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    # On by default here; /v1 keeps the retired service's exact-size rule unless asked
    # (``input_reference_fit``). An unticked box is simply absent from a POST.
    fit_image = forms.BooleanField(
        required=False,
        initial=True,
        label="Fit image to size",
        help_text="An image of other dimensions is cropped evenly from both sides to the "
        "video's shape, then resized. Untick to use only an image of exactly the video's size.",
    )
    characters = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Up to two. Naming a character in the prompt also brings it in.",
    )
    # What some models take beyond the retired API; the page shows each only for a model
    # that takes it (CAPABILITY_FIELDS; create.js keeps that current).
    last_frame = forms.FileField(
        required=False,
        label="Last frame",
        help_text="An image the video ends on (a JPEG, PNG or WebP; fitted to the size as "
        "the reference image is).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    reference_images = MultipleImagesField(
        required=False,
        label="Reference images",
        help_text=f"Up to {catalog.MAX_REFERENCE_IMAGES} images of what the video shows (a "
        "subject, a product, a style), of any size; the model says how many it takes.",
    )
    negative_prompt = forms.CharField(
        required=False,
        max_length=2000,
        strip=True,
        label="Avoid",
        help_text="What the video should not show.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "text, watermarks, people"}),
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**32 - 1,
        label="Seed",
        help_text="The same seed and settings make the same video. Blank: a new one.",
    )
    audio = forms.ChoiceField(
        required=False,
        label="Sound",
        choices=[("", "The model's default"), ("on", "On"), ("off", "Off")],
    )
    n = forms.TypedChoiceField(
        label="Takes",
        choices=[(n, f"{n} take{'s' if n > 1 else ''}") for n in range(1, MAX_TAKES + 1)],
        coerce=int,
        initial=1,
        required=False,  # absent (an older page, a saved link): one take
        empty_value=1,  # type: ignore[arg-type]  # (the stubs allow only text)
        help_text="Several takes of the prompt at once, each with its own seed; pick one on "
        "its page to continue from.",
        error_messages={"invalid_choice": f"Choose 1 to {MAX_TAKES} takes."},
    )

    def __init__(
        self,
        *args: Any,
        character_choices: list[tuple[str, str]] | None = None,
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        """``user``: whose upload a kept-image token (``reference_kept``) may name."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.kept: KeptUpload | None = None  # the kept image the page offers again
        self._kept_posted: KeptUpload | None = None  # the one this POST's token names
        self._upload: tuple[bytes, Image.Image] | None = None  # a new upload, while usable
        characters = self.fields["characters"]
        assert isinstance(characters, forms.MultipleChoiceField)
        characters.choices = character_choices or []
        # Read per form: an admin's change to the routing table shows at once.
        self.routes = catalog.routes(listed_only=True)
        model_choices(self, self.routes)
        offered_choices(self, self.routes)
        if self.routes and self.initial.get("model", catalog.DEFAULT_MODEL) not in self.routes:
            # The default model is turned off: start from the first one offered.
            self.initial["model"] = next(iter(self.routes))

    def _value(self, name: str) -> str:
        value = self[name].value()
        return "" if value is None else str(value)

    @property
    def route(self) -> catalog.Route | None:
        """The route of the model chosen now (bound data, else the initial value)."""
        return self.routes.get(self._value("model"))

    @property
    def estimate(self) -> str:
        """The cost line for the current model, size, duration and sound (create.js keeps
        it current)."""
        route, seconds = self.route, self._value("seconds")
        if route is None or not seconds.isdigit():
            return "Estimated cost: pick a model and a duration."
        size = self._value("size") or None
        audio = AUDIO_CHOICES.get(self._value("audio"))
        n = self._value("n")
        takes = int(n) if n.isdigit() and 1 <= int(n) <= MAX_TAKES else 1
        return estimate_text(route, int(seconds), size, audio, takes=takes)

    def route_data(self) -> dict[str, dict[str, Any]]:
        """What create.js needs per model (read from a json_script element)."""
        return {
            name: {
                "provider": route.provider_label,
                "local": registry.runs_here(route.provider_kind),
                "sizes": list(route.sizes),
                "seconds": list(route.seconds),
                "prices": prices.as_json(route.prices),
                "audio": route.capabilities.audio,
                "takes": takes(route),
            }
            for name, route in self.routes.items()
        }

    @property
    def fields_with_errors(self) -> int:
        """How many fields are refused (a refusal of the whole form, such as a spend cap
        reached, highlights none)."""
        return len([name for name in self.errors if name != NON_FIELD_ERRORS])

    def capability_hidden(self) -> dict[str, bool]:
        """Which optional controls the chosen model does not take (hidden on the page)."""
        route = self.route
        offered = takes(route) if route is not None else {}
        return {field: not offered.get(field, False) for field in CAPABILITY_FIELDS}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        model, size, seconds = cleaned.get("model"), cleaned.get("size"), cleaned.get("seconds")
        route = self.routes.get(model or "")
        if route and size and size not in route.sizes:
            self.add_error("size", f"{model} does not render {size}.")
        if route and seconds and seconds not in route.seconds:
            self.add_error("seconds", f"{model} does not render {seconds} seconds.")
        cleaned["last_frame_png"] = None
        if route is not None:
            self._check_inputs(route, cleaned)
        last = cleaned.get("last_frame")
        if last and size and "last_frame" not in self.errors and "size" not in self.errors:
            try:
                _, last_image = image_read(last)
                width, height = catalog.parse_size(size)
                cleaned["last_frame_png"] = reference_image_sized(
                    last_image, width=width, height=height, fit=bool(cleaned.get("fit_image"))
                )
            except forms.ValidationError as exc:
                self.add_error("last_frame", exc)
        cleaned["reference_png"] = None
        image = self._reference_image(cleaned.get("reference_image"))
        if image is not None and size and "size" not in self.errors:
            width, height = catalog.parse_size(size)
            try:
                cleaned["reference_png"] = reference_image_sized(
                    image, width=width, height=height, fit=bool(cleaned.get("fit_image"))
                )
            except forms.ValidationError as exc:
                self.add_error("reference_image", exc)
                self._upload = None  # a refused image is not kept
        return cleaned

    def _check_inputs(self, route: catalog.Route, cleaned: dict[str, Any]) -> None:
        """What the chosen model does not take, refused under its control."""
        audio = AUDIO_CHOICES.get(cleaned.get("audio") or "")
        cleaned["audio_on"] = audio
        try:
            route.check_inputs(
                last_frame=bool(cleaned.get("last_frame")),
                reference_images=len(cleaned.get("reference_images") or []),
                negative_prompt=cleaned.get("negative_prompt") or "",
                seed_given=cleaned.get("seed") is not None,
                audio=audio,
            )
        except forms.ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field, errors)

    def _reference_image(self, upload: Any) -> Image.Image | None:
        """The image this submit uses: a new upload, else the one kept from the last try
        (unless its "Use this reference image" box was unticked)."""
        token = str(self.data.get("reference_kept", ""))
        opened = None
        if token and self.user is not None:
            opened = kept_upload_open(token, user_id=self.user.pk)
        self._kept_posted = opened[0] if opened else None
        if upload:
            try:
                data, image = image_read(upload)
            except forms.ValidationError as exc:
                self.add_error("reference_image", exc)
                return None
            self._upload = (data, image)
            return image
        if not token or not self.data.get("keep_reference"):
            return None
        if opened is None:
            self.add_error("reference_image", forms.ValidationError(KEPT_GONE, code="kept_gone"))
            return None
        self.kept = self._kept_posted
        return opened[1]

    def keep_reference(self) -> None:
        """On a refused form: keep this submit's usable upload for the next try (the page
        offers it again), and delete the kept one it replaces or that was unticked."""
        if self._upload is not None and self.user is not None:
            data, image = self._upload
            self.kept = kept_upload_save(user_id=self.user.pk, data=data, image=image)
        if self._kept_posted is not None and self._kept_posted != self.kept:
            kept_upload_delete(self._kept_posted.name)

    def drop_kept_reference(self) -> None:
        """After a create: the kept upload it used (or replaced, or dropped) is deleted."""
        if self._kept_posted is not None:
            kept_upload_delete(self._kept_posted.name)


def estimate_text(
    route: catalog.Route, seconds: int, size: str | None, audio: bool | None, *, takes: int
) -> str:
    """The cost line, for every take (create.js writes the same text)."""
    cost = route.cost(seconds, size, audio)
    if takes == 1 or cost is None:
        return catalog.estimate_text(route, seconds, size, audio)
    each = f"{format_usd(route.price(size, audio))}/s"
    times = "\N{MULTIPLICATION SIGN}"
    total = format_usd(cost * takes)
    return f"Estimated cost: {total} ({takes} takes {times} {seconds} s {times} {each})"


def model_choices(form: forms.Form, routes: dict[str, catalog.Route]) -> None:
    """Offer the routed models, each labelled with who runs it and its price."""
    field = form.fields["model"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = [(name, route_label(route)) for name, route in routes.items()]


# The create form's optional controls, by the capability that offers each.
CAPABILITY_FIELDS = (
    "reference_image", "last_frame", "reference_images", "negative_prompt", "seed", "audio",
)  # fmt: skip


def takes(route: catalog.Route) -> dict[str, bool]:
    """Which optional controls ``route``'s model takes."""
    caps = route.capabilities
    return {
        "reference_image": caps.first_frame,
        "last_frame": caps.last_frame,
        "reference_images": caps.reference_images > 0,
        "negative_prompt": caps.negative_prompt,
        "seed": caps.seed,
        "audio": caps.audio,
    }


def offered_choices(form: forms.Form, routes: dict[str, catalog.Route]) -> None:
    """Sizes and durations: those some offered model makes, in the catalog's order."""
    sizes = {s for route in routes.values() for s in route.sizes} or set(catalog.SIZES)
    seconds = {s for route in routes.values() for s in route.seconds} or set(catalog.SECONDS)
    size_field, seconds_field = form.fields["size"], form.fields["seconds"]
    assert isinstance(size_field, forms.ChoiceField)
    assert isinstance(seconds_field, forms.ChoiceField)
    size_field.choices = [
        (s, s.replace("x", " \N{MULTIPLICATION SIGN} ")) for s in catalog.ALL_SIZES if s in sizes
    ]
    seconds_field.choices = [(s, f"{s} seconds") for s in catalog.ALL_SECONDS if s in seconds]


def route_label(route: catalog.Route) -> str:
    return f"{route.name} ({catalog.price_text(route)})"


def add_service_error(form: forms.Form, error: forms.ValidationError) -> None:
    """Show a service's ValidationError on the form: under its field when the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


PROMPT_WIDGET_ATTRS = {"rows": 3}


class VideoRemixForm(forms.Form):
    prompt = forms.CharField(
        max_length=catalog.MAX_PROMPT_LENGTH,
        widget=forms.Textarea(
            attrs={**PROMPT_WIDGET_ATTRS, "placeholder": "Same scene, but at night in the rain"}
        ),
        error_messages={"required": "Say what the remix should change."},
    )


class VideoExtendForm(forms.Form):
    prompt = forms.CharField(
        max_length=catalog.MAX_PROMPT_LENGTH,
        widget=forms.Textarea(
            attrs={**PROMPT_WIDGET_ATTRS, "placeholder": "The camera keeps drifting toward the sea"}
        ),
        error_messages={"required": "Say what happens next."},
    )
    seconds = forms.TypedChoiceField(
        label="New segment",
        choices=[(s, f"+{s} seconds") for s in catalog.EXTENSION_SECONDS],
        coerce=int,
        initial=catalog.EXTENSION_SECONDS[0],
    )


class VideoEditForm(forms.Form):
    prompt = forms.CharField(
        max_length=catalog.MAX_PROMPT_LENGTH,
        widget=forms.Textarea(
            attrs={**PROMPT_WIDGET_ATTRS, "placeholder": "Black and white, slow motion, vignette"}
        ),
        error_messages={"required": "Say what the edit should do."},
    )
    default_look = forms.BooleanField(
        required=False,
        label="If nothing is understood, use the default look",
        help_text="A warm grade, a vignette and the prompt as a caption.",
    )

    # _form_fields.html shows this fragment under the field (edit_preview fills it live).
    preview_field = "prompt"
    preview_template = "videos/_edit_preview.html"

    def __init__(self, *args: Any, model: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As the prompt is typed, the line after it says what will be applied, by the
        # model the edit runs on (``model``: a studio video's; else the form's choice).
        self.fields["prompt"].widget.attrs.update(
            {
                "hx-get": reverse("videos:edit_preview"),
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "next .edit-preview",
                "hx-swap": "innerHTML",
                "hx-include": "closest form",
                **({"hx-vals": json.dumps({"model": model})} if model else {}),
            }
        )

    @property
    def reading(self) -> EditReading | None:
        """What the prompt typed so far asks for (None before anything is typed)."""
        return edit_reading(str(self.data.get(self.add_prefix("prompt"), "")))


def edit_reading(prompt: str) -> EditReading | None:
    """What an edit prompt asks for, or None for a blank one (nothing to say yet)."""
    return read_edit(prompt) if prompt.strip() else None


class VideoEditUploadForm(VideoEditForm):
    video = forms.FileField(
        label="Video to edit",
        help_text="An MP4 file, up to 120 seconds.",
        widget=forms.ClearableFileInput(attrs={"accept": "video/mp4,video/quicktime"}),
    )
    model = forms.ChoiceField(
        initial=catalog.DEFAULT_MODEL, error_messages={"invalid_choice": MODEL_UNAVAILABLE}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choices(self, catalog.routes(listed_only=True))


class CharacterForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Captain Pixel", "autocomplete": "off"}),
        error_messages={"required": "Give the character a name."},
    )
    video = forms.FileField(
        label="Clip",
        help_text="A short MP4 of the character, 1 to 10 seconds (2 to 4 works best).",
        widget=forms.ClearableFileInput(attrs={"accept": "video/mp4,video/quicktime"}),
        error_messages={"required": "Upload a short clip of the character."},
    )


# --- The gallery's filters (see the module docstring) -------------------------------

# name: (label, ordering). Ties always break on the newest, then the id.
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "longest": ("Longest first", ("-seconds", "-created_at", "-id")),
    "shortest": ("Shortest first", ("seconds", "-created_at", "-id")),
    "reviewed": ("Recently reviewed", ("-review_changed_at", "-created_at", "-id")),
}
FILTER_KEYS = (
    "creator", "team", "status", "model", "size", "seconds", "operation", "review",
    "favorites", "discarded", "versions", "from", "to", "q", "sort", "collection",
)  # fmt: skip


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *[(str(value), str(name)) for value, name in choices]]


class GalleryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        label="Search prompts",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Search prompts…", "autocomplete": "off"}
        ),
    )
    creator = forms.CharField(
        required=False, max_length=150, label="Creator", widget=forms.TextInput(
            attrs={"placeholder": "username", "autocomplete": "off"}
        )
    )  # fmt: skip
    team = forms.SlugField(required=False, max_length=100, label="Team")
    status = forms.ChoiceField(
        required=False, choices=_any("Any status", Video.Status.choices), label="Status"
    )
    review = forms.ChoiceField(
        required=False, choices=_any("Any review", Video.ReviewState.choices), label="Review"
    )
    operation = forms.ChoiceField(
        required=False, choices=_any("Any", Video.Operation.choices), label="Operation"
    )
    model = forms.CharField(required=False, max_length=64, label="Model")
    size = forms.ChoiceField(
        required=False, choices=_any("Any size", ((s, s) for s in catalog.SIZES)), label="Size"
    )
    seconds = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=_any("Any length", ((s, f"{s} s") for s in catalog.SECONDS)),
        label="Duration",
    )
    favorites = forms.BooleanField(required=False, label="My favorites")
    # Takes not picked are hidden unless asked for (then only they are shown).
    discarded = forms.BooleanField(required=False, label="Discarded takes")
    # Off: one card per stack, its latest version; on: a card for every version.
    versions = forms.BooleanField(required=False, label="Every version")
    sort = forms.ChoiceField(
        required=False,
        choices=[(name, label) for name, (label, _) in SORTS.items()],
        label="Sort",
    )
    # Chosen in the side bar (albums/): only that collection's videos.
    collection = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        label="Collection",
        widget=forms.HiddenInput,
    )

    def __init__(
        self,
        *args: Any,
        teams: list[tuple[str, str]] | None = None,
        models: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``teams`` (slug, name: those the user sees) and ``models`` turn those two
        text fields into menus (for the page). A team not in ``teams`` is reported and
        ignored, as it could match nothing; a model no longer routed is kept and added
        to the menu, since older videos may still carry it."""
        super().__init__(*args, **kwargs)
        self.teams = teams
        if teams is not None:
            self.fields["team"].widget = forms.Select(choices=[("", "Any team"), *teams])
        if models is not None:
            asked = self.data.get("model", "") if self.is_bound else ""
            extra = [asked] if asked and asked not in models and len(asked) <= 64 else []
            self.fields["model"].widget = forms.Select(
                choices=[("", "Any model"), *((m, m) for m in [*models, *extra])]
            )

    def clean_team(self) -> str:
        slug: str = self.cleaned_data["team"]
        if slug and self.teams is not None and slug not in {s for s, _ in self.teams}:
            raise ValidationError(f"You are not in a team “{slug}”.")
        return slug

    def clean_q(self) -> str:
        text: str = self.cleaned_data["q"]
        if text and not search.has_words(text):
            raise ValidationError("Search for at least one word (letters or digits).")
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return data

    @property
    def active_filters(self) -> int:
        """How many filters (not the search, the sort or the side bar's collection) are set."""
        data = getattr(self, "cleaned_data", {})
        skip = ("q", "sort", "collection")
        return sum(data.get(key) not in (None, "", False) for key in FILTER_KEYS if key not in skip)

    @property
    def is_filtered(self) -> bool:
        """Whether any filter or search narrows the gallery (sort alone does not)."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(key) not in (None, "", False) for key in FILTER_KEYS if key != "sort")


# "from" and "to" are Python keywords, so they join the declared fields here.
GalleryFilterForm.base_fields["from"] = forms.DateField(
    required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
)
GalleryFilterForm.base_fields["to"] = forms.DateField(
    required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
)
