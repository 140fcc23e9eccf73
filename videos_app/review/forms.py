"""The comment, review-state and approvers forms of the detail page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from .. import permissions
from ..models import Video
from . import notes
from .models import ReviewState, StackApprover
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


class ApproversForm(forms.Form):
    """Who approves the video's stack: ticked among the team's editors and admins."""

    approvers = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Approvers",
        help_text="None ticked: the team's admins approve.",
    )

    def __init__(
        self, *args: Any, video: Video, approvers: Sequence[StackApprover] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["approvers"]
        field.queryset = permissions.approver_candidates(video.team_id)  # type: ignore[attr-defined]
        field.initial = [approver.user_id for approver in approvers]
