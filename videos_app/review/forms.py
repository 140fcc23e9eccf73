"""The comment and review-state forms of the detail page."""

from __future__ import annotations

from typing import Any

from django import forms

from . import notes
from .models import ReviewState
from .services import COMMENT_MAX_LENGTH


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Say what you see; @name a teammate"}
        ),
        error_messages={"required": "Write something first."},
    )
    at_seconds = forms.FloatField(label="In (seconds)", required=False, min_value=0)
    out_seconds = forms.FloatField(label="Out (seconds)", required=False, min_value=0)
    # JSON shapes from the drawing tool (static/studio/draw.js), checked by notes.
    drawing = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_drawing(self) -> list[dict[str, Any]] | None:
        return notes.clean_drawing(self.cleaned_data["drawing"])


class ResolveForm(forms.Form):
    """Resolve ("1") or reopen ("0") a thread: a value, not a toggle, so a second click
    sent twice changes nothing."""

    resolved = forms.TypedChoiceField(choices=[("1", "Resolve"), ("0", "Reopen")], coerce=int)


class ReviewForm(forms.Form):
    to_state = forms.ChoiceField(choices=ReviewState.choices)
