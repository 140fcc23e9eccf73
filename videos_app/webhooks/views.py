"""The webhooks settings pages: a user's endpoints, their secrets and delivery history."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from . import outbound, selectors, services
from .forms import EndpointForm
from .models import WebhookDelivery


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        endpoint = services.endpoint_create(
            owner=request.user,  # type: ignore[arg-type]
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            events=form.cleaned_data["events"],
            all_videos=form.cleaned_data.get("all_videos", False),
        )
        messages.success(
            request, "Endpoint added. Verify its events with the signing secret below."
        )
        return redirect("webhook_endpoint", endpoint.pk)
    return render(
        request,
        "webhooks/endpoints.html",
        {
            "form": form,
            "endpoints": selectors.endpoints_of(user=request.user),  # type: ignore[arg-type]
            "max_attempts": outbound.MAX_ATTEMPTS,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "all_videos": endpoint.all_videos,
    }
    form = EndpointForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.endpoint_update(
            endpoint=endpoint,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            events=form.cleaned_data["events"],
            all_videos=form.cleaned_data.get("all_videos", False),
        )
        messages.success(request, "Endpoint saved.")
        return redirect("webhook_endpoint", endpoint.pk)
    response = render(
        request,
        "webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "form": form,
            "deliveries": selectors.deliveries_of(endpoint=endpoint),
            "history_limit": selectors.HISTORY_LIMIT,
            "max_attempts": outbound.MAX_ATTEMPTS,
            "now": timezone.now(),
        },
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"  # the page holds the signing secret
    return response


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    services.endpoint_rotate_secret(endpoint=endpoint)
    messages.success(
        request,
        "New signing secret made. Events from now on are signed with it: update your receiver.",
    )
    return redirect("webhook_endpoint", endpoint.pk)


@login_required
@require_POST
def endpoint_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    services.endpoint_set_active(endpoint=endpoint, active=not endpoint.active)
    messages.success(
        request,
        "Endpoint enabled." if endpoint.active else "Endpoint disabled: no events are sent to it.",
    )
    return redirect("webhook_endpoint", endpoint.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Deleted the endpoint {endpoint.url} and its delivery history.")
    return redirect("webhooks")


@login_required
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    if not endpoint.active:
        messages.error(request, "Enable the endpoint to send it a test event.")
    else:
        outbound.test_event_create(endpoint=endpoint)
        messages.success(request, "Test event queued: it appears in the history below.")
    return redirect("webhook_endpoint", endpoint.pk)


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint=endpoint)
    if outbound.delivery_redeliver(delivery=delivery):
        messages.success(request, f"Redelivering {delivery.event_id}.")
    else:
        messages.error(request, "That delivery is still being attempted.")
    return redirect("webhook_endpoint", endpoint.pk)
