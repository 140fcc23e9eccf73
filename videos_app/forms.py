from __future__ import annotations

from typing import Any

from django import forms

from . import catalog
from .images import reference_image_prepare


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
        choices=[(name, name) for name in catalog.MODELS], initial=catalog.DEFAULT_MODEL
    )
    size = forms.ChoiceField(
        choices=[(size, size.replace("x", " \N{MULTIPLICATION SIGN} ")) for size in catalog.SIZES],
        initial=catalog.DEFAULT_SIZE,
    )
    seconds = forms.TypedChoiceField(
        choices=[(s, f"{s} seconds") for s in catalog.SECONDS],
        coerce=int,
        initial=catalog.DEFAULT_SECONDS,
    )
    reference_image = forms.FileField(
        required=False,
        label="Reference image",
        help_text="Optional first frame: JPEG, PNG or WebP, exactly the video's size.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    fit_image = forms.BooleanField(
        required=False,
        label="Fit image to size",
        help_text="Center-crop and resize an image of other dimensions.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        model, size, seconds = cleaned.get("model"), cleaned.get("size"), cleaned.get("seconds")
        if model and size and size not in catalog.MODELS[model].sizes:
            self.add_error("size", f"{model} does not render {size}.")
        if model and seconds and seconds not in catalog.MODELS[model].seconds:
            self.add_error("seconds", f"{model} does not render {seconds} seconds.")
        upload = cleaned.get("reference_image")
        cleaned["reference_png"] = None
        if upload and size and "size" not in self.errors:
            width, height = catalog.parse_size(size)
            try:
                cleaned["reference_png"] = reference_image_prepare(
                    upload, width=width, height=height, fit=bool(cleaned.get("fit_image"))
                )
            except forms.ValidationError as exc:
                self.add_error("reference_image", exc)
        return cleaned
