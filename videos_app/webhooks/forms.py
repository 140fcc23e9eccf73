"""The endpoint form: a URL the studio may deliver to, and which events it wants."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .outbound import EVENT_TYPES, TargetRefused, private_targets_allowed, target_check

EVENT_CHOICES = [(name, name) for name in EVENT_TYPES]


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/studio"}),
        error_messages={"required": "Enter the URL that should receive the events."},
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. render farm notifier"}),
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    all_videos = forms.BooleanField(
        label="Every video in the studio, not only mine",
        required=False,
        help_text="Staff only.",
    )

    def __init__(self, *args: Any, user: AbstractBaseUser | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not getattr(user, "is_staff", False):
            del self.fields["all_videos"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            target_check(url, private_ok=private_targets_allowed(self.user))
        except TargetRefused as exc:
            raise forms.ValidationError(str(exc), code="refused") from exc
        return url
