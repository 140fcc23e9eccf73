"""Collections and saved filters: make, rename, delete, add to and take out of.

Each write is a plain POST answered by a redirect to the gallery (the side bar shows
the result); a refused form is shown again on its own small page (400) with nothing
saved. Adding and taking out start with a GET, from the gallery's selection bar or a
video's page, that shows what is about to change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions
from ..forms import add_service_error
from ..http import HtmxHttpRequest
from ..models import Video
from . import selectors, services
from .forms import NameForm, PlacedForm, SavedFilterForm
from .models import Collection, SavedFilter

# How many ticked videos one add or removal takes (a gallery page holds 24).
MAX_PICKED = 100


def _gallery(query: str = "") -> HttpResponseBase:
    url = reverse("videos:gallery")
    return redirect(f"{url}?{query}" if query else url)


def _collection(request: HttpRequest, collection_id: int, *, change: bool) -> Collection:
    """The collection if the user sees it (else 404); with ``change``, if they may
    change it (else 403: they see it already)."""
    collection = selectors.collections_visible_to(request.user).filter(pk=collection_id).first()
    if collection is None:
        raise Http404("No such collection.")
    if change and not selectors.can_change(
        request.user, team_id=collection.team_id, owner_id=collection.owner_id
    ):
        raise PermissionDenied("Only the team's editors and admins change its collections.")
    return collection


def _refused(request: HttpRequest, form: NameForm, *, title: str, action: str) -> HttpResponse:
    return render(
        request, "albums/form.html", {"form": form, "title": title, "action": action}, status=400
    )


def _picked(request: HttpRequest) -> list[Video]:
    ids = (request.POST if request.method == "POST" else request.GET).getlist("v")[:MAX_PICKED]
    visible = permissions.videos_visible_to(request.user).filter(pk__in=ids)
    return list(visible.select_related("team").order_by("-created_at", "-id"))


@login_required
@require_GET
def gallery_side(request: HtmxHttpRequest) -> HttpResponse:
    """The gallery's side bar: the collections and saved filters the user sees, the
    current one (``collection``) marked. htmx loads it after the gallery, so the
    gallery's queries per page stay its own; without JS it is a page of its own."""
    sidebar = selectors.gallery_sidebar(user=request.user)
    rows: list[Collection | SavedFilter] = [*sidebar.collections, *sidebar.saved_filters]
    for row in rows:
        row.editable = selectors.can_change(  # type: ignore[union-attr]
            request.user, team_id=row.team_id, owner_id=row.owner_id
        )
    current = request.GET.get("collection", "")
    context = {
        "sidebar": sidebar,
        "current": int(current) if current.isdigit() else None,
        "new_form": PlacedForm(user=request.user, teams=sidebar.teams, auto_id="new-collection-%s"),
    }
    template = "albums/side.html#side" if request.htmx else "albums/side.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def collection_new(request: HttpRequest) -> HttpResponseBase:
    form = PlacedForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            collection = services.collection_create(
                actor=request.user, team=form.chosen_team(), name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Collection “{collection.name}” made.")
            return _gallery(f"collection={collection.pk}")
    return _refused(request, form, title="New collection", action=reverse("videos:collection_new"))


@login_required
@require_POST
def collection_rename(request: HttpRequest, collection_id: int) -> HttpResponseBase:
    collection = _collection(request, collection_id, change=True)
    form = NameForm(request.POST)
    if form.is_valid():
        try:
            services.collection_rename(
                actor=request.user, collection=collection, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return _gallery(f"collection={collection.pk}")
    action = reverse("videos:collection_rename", args=[collection.pk])
    return _refused(request, form, title=f"Rename “{collection}”", action=action)


@login_required
@require_http_methods(["GET", "POST"])
def collection_delete(request: HttpRequest, collection_id: int) -> HttpResponseBase:
    """GET asks to confirm (a team's collection is shared); POST deletes it, not its videos."""
    collection = _collection(request, collection_id, change=True)
    if request.method == "POST":
        services.collection_delete(actor=request.user, collection=collection)
        messages.success(request, f"Collection “{collection.name}” deleted; its videos stay.")
        return _gallery()
    count = collection.items.count()
    return render(request, "albums/delete.html", {"collection": collection, "count": count})


@login_required
@require_http_methods(["GET", "POST"])
def collection_add(request: HttpRequest) -> HttpResponseBase:
    """The ticked videos (``v``) into a collection the user picks and may change."""
    videos = _picked(request)
    choices = selectors.collections_to_change(request.user)
    if request.method == "POST":
        chosen = next((c for c in choices if str(c.pk) == request.POST.get("collection")), None)
        if chosen is None:
            raise Http404("No such collection.")
        added = services.collection_add(actor=request.user, collection=chosen, videos=videos)
        skipped = len(videos) - added
        note = f" ({skipped} already in it or from elsewhere)" if skipped else ""
        messages.success(request, f"{added} added to “{chosen.name}”{note}.")
        return _gallery(f"collection={chosen.pk}")
    return render(
        request,
        "albums/pick.html",
        {
            "videos": videos,
            # Each collection with how many of the videos it takes (see selectors.fits).
            "choices": [(c, sum(selectors.fits(c, v) for v in videos)) for c in choices],
            "action": reverse("videos:collection_add"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def collection_remove(request: HttpRequest, collection_id: int) -> HttpResponseBase:
    """Take the ticked videos (``v``) out of the collection; they stay in the studio."""
    collection = _collection(request, collection_id, change=True)
    videos = _picked(request)
    if request.method == "POST":
        removed = services.collection_remove(
            actor=request.user, collection=collection, video_ids=[v.pk for v in videos]
        )
        messages.success(request, f"{removed} taken out of “{collection.name}”.")
        return _gallery(f"collection={collection.pk}")
    action = reverse("videos:collection_remove", args=[collection.pk])
    return render(
        request,
        "albums/pick.html",
        {"videos": videos, "collection": collection, "action": action},
    )


@login_required
@require_http_methods(["GET", "POST"])
def saved_filter_new(request: HttpRequest) -> HttpResponseBase:
    """Keep the gallery's current filters (``query``, checked again) under a name: GET
    (the results' "Save these filters") asks for the name, POST saves."""
    action = reverse("videos:saved_filter_new")
    title = "Save these filters"
    if request.method == "GET":
        form = SavedFilterForm(user=request.user, initial={"query": request.GET.get("query", "")})
        return render(request, "albums/form.html", {"form": form, "title": title, "action": action})
    form = SavedFilterForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            saved = services.saved_filter_create(
                actor=request.user,
                team=form.chosen_team(),
                name=form.cleaned_data["name"],
                query=form.cleaned_data["query"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Filters saved as “{saved.name}”.")
            return _gallery(saved.query)
    return _refused(request, form, title=title, action=action)


@login_required
@require_POST
def saved_filter_delete(request: HttpRequest, saved_id: int) -> HttpResponseBase:
    saved: SavedFilter | None = (
        selectors.saved_filters_visible_to(request.user).filter(pk=saved_id).first()
    )
    if saved is None:
        raise Http404("No such saved filter.")
    services.saved_filter_delete(actor=request.user, saved=saved)
    messages.success(request, f"Saved filter “{saved.name}” deleted.")
    return _gallery()
