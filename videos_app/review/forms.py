"""The comment and review-state forms of the detail page."""

from __future__ import annotations

from django import forms

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
    at_seconds = forms.FloatField(
        label="At (seconds)",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0", "inputmode": "decimal"}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReviewForm(forms.Form):
    to_state = forms.ChoiceField(choices=ReviewState.choices)
