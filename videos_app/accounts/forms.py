"""The API keys page's form."""

from __future__ import annotations

from django import forms


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. render script on the build box"}),
        error_messages={"required": "Name the key after where it will be used."},
    )
