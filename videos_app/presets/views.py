"""Team prompt presets: list, create, change, delete (see selectors.py for the rules).

``/presets/`` lists the presets of the user's teams and, for teams they may edit, holds
the form for a new one; the form takes its starting values from the query string, so
"Save as preset" on the create form or a video's page just links (or GETs) here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import permissions
from ..forms import add_service_error
from ..media import stored_file_or_404
from ..models import Team
from ..teams.forms import PRIVATE
from . import selectors, services
from .forms import PresetForm
from .models import PromptPreset

FROM_CREATE = ("prompt", "model", "size", "seconds", "team")


def _save(request: HttpRequest, form: PresetForm, preset: PromptPreset | None) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        services.preset_save(
            actor=request.user,
            team=data["team"],
            name=data["name"],
            prompt=data["prompt"],
            model=data["model"],
            size=data["size"],
            seconds=data["seconds"],
            preset=preset,
        )
    except ValidationError as exc:
        add_service_error(form, exc)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def presets(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("from_create"):
        # "Save as preset" on the create form posts its fields here: fill the preset
        # form with them (nothing is saved until the preset is named and saved).
        initial = {k: request.POST.get(k, "") for k in FROM_CREATE}
        # Its "Who can see it" menu names a team as "<id>" or "<id>:private".
        initial["team"] = initial["team"].removesuffix(PRIVATE)
        form = PresetForm(user=request.user, initial=initial)
    elif request.method == "POST":
        form = PresetForm(request.POST, user=request.user)
        if _save(request, form, None):
            messages.success(request, f"Preset “{form.cleaned_data['name']}” saved.")
            return redirect("videos:presets")
    else:
        initial = selectors.prefill(request.user, request.GET).initial
        form = PresetForm(user=request.user, initial=initial)
    listing = list(selectors.presets_usable_by(request.user).order_by("team__name", "name"))
    for preset in listing:
        preset.editable = selectors.can_edit_presets(request.user, preset.team_id)  # type: ignore[attr-defined]
    can_create = permissions.teams_for_create(request.user).exists()
    # Who cannot save presets is a viewer in each of their teams, or in none.
    viewer_in = [] if can_create else list(
        Team.objects.filter(pk__in=permissions.team_roles(request.user))
        .order_by("name")
        .values_list("name", flat=True)
    )  # fmt: skip
    return render(
        request,
        "videos/presets.html",
        {"form": form, "presets": listing, "can_create": can_create, "viewer_in": viewer_in},
        status=400 if form.errors else 200,
    )


def _get_preset(request: HttpRequest, preset_id: int) -> PromptPreset:
    preset = selectors.presets_usable_by(request.user).filter(pk=preset_id).first()
    if preset is None:
        raise Http404("No such preset.")
    if not selectors.can_edit_presets(request.user, preset.team_id):
        raise PermissionDenied("Only the team's editors and admins can change its presets.")
    return preset


@login_required
@require_http_methods(["GET", "POST"])
def preset_edit(request: HttpRequest, preset_id: int) -> HttpResponse:
    preset = _get_preset(request, preset_id)
    if request.method == "POST":
        form = PresetForm(request.POST, user=request.user)
        if _save(request, form, preset):
            messages.success(request, f"Preset “{preset.name}” saved.")
            return redirect("videos:presets")
    else:
        form = PresetForm(
            user=request.user, initial={**selectors.preset_settings(preset), "name": preset.name}
        )
    return render(
        request,
        "videos/presets_edit.html",
        {"form": form, "preset": preset},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def preset_delete(request: HttpRequest, preset_id: int) -> HttpResponseBase:
    """GET asks to confirm (a team's preset is shared); POST deletes."""
    preset = _get_preset(request, preset_id)
    if request.method == "POST":
        services.preset_delete(actor=request.user, preset=preset)
        messages.success(request, f"Preset “{preset.name}” deleted.")
        return redirect("videos:presets")
    return render(request, "videos/presets_delete.html", {"preset": preset})


@login_required
@require_http_methods(["GET", "HEAD"])
def video_reference(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """A visible video's stored reference image (the create form's carried preview)."""
    video = permissions.videos_visible_to(request.user).filter(pk=video_id).first()
    name = video.reference_image.name if video is not None else None
    if not name:
        raise Http404("No such reference image.")
    return stored_file_or_404(request, name, content_type="image/png")
