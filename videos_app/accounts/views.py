"""The account pages: API keys (create, named; list; revoke) and display preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ..api import keys
from ..models import ApiKey
from . import selectors, services
from .forms import ApiKeyCreateForm, PreferencesForm


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    new_key = ""
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _key, new_key = keys.api_key_create(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        form = ApiKeyCreateForm()
    # The full key is rendered in this one response and never again: it is not stored.
    response = render(
        request,
        "account/api_keys.html",
        {
            "form": form,
            "new_key": new_key,
            "keys": keys.api_keys_of(user=request.user),  # type: ignore[arg-type]
            "base_url": request.build_absolute_uri("/v1"),
        },
        status=400 if form.errors else 200,
    )
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    keys.api_key_revoke(key=key)
    messages.success(request, f"Revoked “{key.name}”. Programs using it now get 401.")
    return redirect("api_keys")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The preferences page; a post may come from elsewhere (the comments' switch) with a
    ``next`` page to go back to."""
    initial = {"time_format": selectors.time_format_for(request.user)}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(user=request.user, time_format=form.cleaned_data["time_format"])
        messages.success(request, "Preferences saved.")
        back = str(request.POST.get("next", ""))
        if url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(back)
        return redirect("preferences")
    return render(
        request, "account/preferences.html", {"form": form}, status=400 if form.errors else 200
    )
