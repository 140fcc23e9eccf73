"""The share form (team side) and the visitor's forms (passphrase, comment)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.db.models import QuerySet

from ..models import Video
from ..review.services import COMMENT_MAX_LENGTH
from .services import LABEL_MAX_LENGTH

# The expiry menu: days, or "never".
EXPIRY_CHOICES = [("1", "1 day"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"),
                  ("never", "Never")]  # fmt: skip
DEFAULT_EXPIRY = "30"


class VideoChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Video) -> str:
        return obj.prompt if len(obj.prompt) <= 90 else obj.prompt[:89] + "…"


class ShareForm(forms.Form):
    videos = VideoChoices(
        queryset=Video.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one video to share."},
    )
    label = forms.CharField(
        max_length=LABEL_MAX_LENGTH,
        required=False,
        help_text="What the team calls this link (say who it is for); the first prompt if blank.",
    )
    passphrase = forms.CharField(
        required=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional: whoever opens the link types it once.",
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial=DEFAULT_EXPIRY, label="Expires")
    allow_comments = forms.BooleanField(required=False, initial=True, label="Allow comments")
    allow_download = forms.BooleanField(required=False, label="Allow download")

    def __init__(self, *args: object, videos: QuerySet[Video], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["videos"].queryset = videos  # type: ignore[attr-defined]

    def expires_in(self) -> timedelta | None:
        value = self.cleaned_data["expires"]
        return None if value == "never" else timedelta(days=int(value))


class PassphraseForm(forms.Form):
    passphrase = forms.CharField(
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Type the passphrase you were given."},
    )


class GuestCommentForm(forms.Form):
    name = forms.CharField(
        max_length=80, error_messages={"required": "Say who you are: a name the team will see."}
    )
    email = forms.EmailField(required=False, help_text="Optional: for the team to reply.")
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write something first."},
    )
    at_seconds = forms.FloatField(required=False, min_value=0)
