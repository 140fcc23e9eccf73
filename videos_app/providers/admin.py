"""Admin for providers and model routes.

A provider's API key never appears here: only where it is read from (an environment
variable's name, a file's path) and whether a key is found there now.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from . import catalog, prices, registry
from .base import ProviderError
from .capabilities import Capabilities
from .http import key_file_refusal, key_from
from .models import ModelRoute, Provider
from .probe import provider_check


def key_status(provider: Provider) -> str:
    """ "set" when the provider's key source holds a key now, else "missing" (never the key)."""
    if not (provider.api_key_env or provider.api_key_file):
        return "missing"
    try:
        found = key_from(env=provider.api_key_env, file=provider.api_key_file)()
    except ProviderError:
        return "missing"
    return "set" if found else "missing"


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def key_source(provider: Provider) -> str:
    """Where the key comes from (``$VAR``, a path, or both); a value that is not a plain
    variable name or path (a key pasted before the form refused it) is never shown."""
    env, file = provider.api_key_env, provider.api_key_file
    sources = [f"${env}" if env and ENV_NAME.match(env) else "(invalid)" if env else ""]
    sources.append(file if file.startswith("/") else "(invalid)" if file else "")
    return " or ".join(s for s in sources if s) or "—"


class ProviderForm(forms.ModelForm):
    """Refuses what cannot work: a provider without the base URL or key source its kind
    needs (``registry``), and (the mistake that would store a key) a key pasted where a
    variable's name belongs."""

    class Meta:
        model = Provider
        fields = "__all__"  # noqa: DJ007  (every column is the admin's to edit)

    def clean_api_key_env(self) -> str:
        return _env_name(self.cleaned_data.get("api_key_env", ""), "the API key")

    def clean_api_key_file(self) -> str:
        value = (self.cleaned_data.get("api_key_file") or "").strip()
        if value and (refusal := key_file_refusal(value)):
            raise forms.ValidationError(refusal)
        return value

    def clean_webhook_secret_env(self) -> str:
        return _env_name(self.cleaned_data.get("webhook_secret_env", ""), "the webhook secret")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needs = registry.needs(data.get("kind") or "")
        if "base_url" in needs and not data.get("base_url") and "base_url" not in self.errors:
            self.add_error("base_url", "Give the service's base URL, e.g. https://host/v1.")
        has_key_source = data.get("api_key_env") or data.get("api_key_file")
        key_field_refused = self.has_error("api_key_env") or self.has_error("api_key_file")
        if "key" in needs and not has_key_source and not key_field_refused:
            self.add_error(
                "api_key_env",
                "Name the environment variable (or below, the file) that holds the key.",
            )
        return data


def _env_name(value: str, what: str) -> str:
    value = (value or "").strip()
    if value and not ENV_NAME.match(value):
        raise forms.ValidationError(
            f"Give the name of the environment variable that holds {what} (letters, digits "
            f"and _, e.g. UPSTREAM_KEY), not {what} itself: it must never be stored here."
        )
    return value


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "label", "base_url", "key_source", "key", "enabled"]  # kind: filter
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "label", "base_url"]
    readonly_fields = ["key", "inbound_webhook"]
    actions = ["check_connection"]
    # Adds the "Check connection" button to a provider's page.
    change_form_template = "admin/videos_app/provider/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "kind", "label", "enabled"]}),
        (
            "Connection",
            {
                "fields": [
                    "base_url",
                    "api_key_env",
                    "api_key_file",
                    "key",
                    "webhook_secret_env",
                    "inbound_webhook",
                    "timeout_seconds",
                    "connect_timeout_seconds",
                    "max_concurrency",
                ],
                "description": "The key itself is never stored or shown: name the "
                "environment variable or the file that holds it.",
            },
        ),
    ]

    def get_urls(self) -> list[Any]:
        view = require_POST(self.admin_site.admin_view(self.check_view))
        return [
            path("<path:object_id>/check/", view, name="videos_app_provider_check"),
            *super().get_urls(),
        ]

    def check_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Check connection" button: one probe call, its outcome as a message."""
        provider = self.get_object(request, unquote(object_id))
        if provider is None:
            raise Http404("No such provider.")
        if not self.has_change_permission(request, provider):
            raise PermissionDenied
        _report_check(self, request, provider)
        return HttpResponseRedirect(reverse("admin:videos_app_provider_change", args=[provider.pk]))

    @admin.action(description="Check connection", permissions=["change"])
    def check_connection(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            _report_check(self, request, provider)

    def get_readonly_fields(self, request: HttpRequest, obj: Provider | None = None) -> Any:
        # Videos record the provider that made them by name (to poll, remix and delete
        # there): renaming it would cut them off from their upstream copies.
        return [*self.readonly_fields, "name"] if obj is not None else self.readonly_fields

    @admin.display(description="Key from")
    def key_source(self, provider: Provider) -> str:
        return key_source(provider)

    @admin.display(description="Inbound webhook")
    def inbound_webhook(self, provider: Provider) -> str:
        """Where the upstream announces its jobs' ends, and whether that URL is open."""
        from videos_app.webhooks.inbound import provider_secret

        if "key" not in registry.needs(provider.kind) or not provider.pk:
            return "—"  # an engine on this machine: nobody to send webhooks
        url = reverse("provider_webhook", args=[provider.name])
        if provider_secret(provider):
            return f"{url} (secret set: give the upstream this URL and the secret)"
        return f"{url} (off: answers 404 until the webhook secret env names a set variable)"

    @admin.display(description="API key")
    def key(self, provider: Provider) -> str:
        if "key" not in registry.needs(provider.kind):
            return "not needed"
        return key_status(provider)


def _report_check(model_admin: admin.ModelAdmin, request: HttpRequest, provider: Provider) -> None:
    result = provider_check(provider)
    if result.ok:
        model_admin.message_user(request, f"{provider.name}: ok: {result.message}")
    elif not result.checkable:
        model_admin.message_user(request, f"{provider.name}: {result.message}", messages.WARNING)
    else:
        model_admin.message_user(request, f"{provider.name}: {result.message}", messages.ERROR)


class ModelRouteForm(forms.ModelForm):
    """Sizes and durations are lists of the catalog's values; capabilities a JSON object
    of the model's (``capabilities.Capabilities``' fields); anything else is refused."""

    class Meta:
        model = ModelRoute
        fields = "__all__"  # noqa: DJ007  (every column is the admin's to edit)
        help_texts = {
            "sizes": 'A JSON list, e.g. ["1280x720", "720x1280"], narrowing what the model '
            "makes, from: " + ", ".join(catalog.ALL_SIZES) + ". Empty list: all it makes.",
            "seconds": "A JSON list, e.g. [4, 8], narrowing the durations the model makes, "
            "from: " + ", ".join(str(s) for s in catalog.ALL_SECONDS) + ". Empty list: all "
            "it makes. For an extension this is the new segment's length (the whole chain "
            "may run longer).",
            "capabilities": "A JSON object overriding what the engine documents for the "
            'model, field by field, e.g. {"last_frame": true, "seconds": [5, 10]}. Fields: '
            + ", ".join(Capabilities.__dataclass_fields__)
            + ". Empty: the engine's (shown below once saved).",
            "options": "What the route's engine also needs, as a JSON object. A diffusers "
            'route (its upstream model is the family, e.g. wan2.2-ti2v-5b): {"weights": '
            '"/srv/weights/wan2.2-ti2v-5b"} and, optionally, steps, guidance, dtype '
            "(bfloat16, float16, float32), cpu_offload, vae_tiling, device (auto, cuda, "
            "cpu). See docs/gpu.md.",
            "prices": "Prices by resolution and sound, as a JSON object of US dollars a "
            'second, e.g. {"720p": "0.10", "1080p": "0.15", "*+audio": "0.40"}: keys are '
            "a resolution (720p, 1080p, 4k, ...) or * for any, with +audio for the price "
            "with sound. The price per second above counts as *. Both empty: the vendor's "
            "list prices, where the engine knows them (shown below once saved).",
        }

    def clean_sizes(self) -> list[str]:
        return _subset(self.cleaned_data.get("sizes"), catalog.ALL_SIZES, "size")

    def clean_seconds(self) -> list[int]:
        return _subset(self.cleaned_data.get("seconds"), catalog.ALL_SECONDS, "duration")

    def clean_price_per_second(self) -> Decimal | None:
        price: Decimal | None = self.cleaned_data.get("price_per_second")
        if price is not None and price < 0:
            raise forms.ValidationError("Give a price of zero or more US dollars per second.")
        return price

    def clean_prices(self) -> dict[str, str]:
        try:
            return prices.as_json(prices.parse(self.cleaned_data.get("prices") or {}))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_capabilities(self) -> dict[str, Any]:
        value = self.cleaned_data.get("capabilities")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object (empty for the engine's).")
        unknown = sorted(set(value) - set(Capabilities.__dataclass_fields__))
        if unknown:
            raise forms.ValidationError(
                f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. Known: "
                + ", ".join(Capabilities.__dataclass_fields__)
                + "."
            )
        base = Capabilities()
        # A value of the wrong type is ignored by merged(): say so rather than drop it.
        ignored = [k for k, v in value.items() if _merged_value(base, k, v) != v]
        if ignored:
            raise forms.ValidationError(
                "Wrong type for " + ", ".join(ignored) + ": true/false for what it takes, a "
                "whole number for reference_images, a list for sizes and durations."
            )
        merged = base.merged(value)
        if merged.sizes:
            _subset(list(merged.sizes), catalog.ALL_SIZES, "size")
        if merged.seconds:
            _subset(list(merged.seconds), catalog.ALL_SECONDS, "duration")
        return dict(value)

    def clean_options(self) -> dict[str, Any]:
        value = self.cleaned_data.get("options")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object (empty when the engine needs none).")
        return dict(value)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = data.get("provider")
        if provider is not None and provider.kind == registry.DIFFUSERS and "options" in data:
            from .diffusers import route_settings

            family = data.get("upstream_model") or data.get("name") or ""
            try:
                route_settings(family, data["options"])
            except ValueError as exc:
                field = (
                    "upstream_model" if str(exc).startswith("Unknown model family") else "options"
                )
                self.add_error(field, str(exc))
        return data


def _merged_value(base: Capabilities, key: str, value: Any) -> Any:
    """What ``value`` becomes once merged over ``base`` (as JSON)."""
    merged = getattr(base.merged({key: value}), key)
    return list(merged) if isinstance(merged, tuple) else merged


def _subset(value: Any, known: tuple[Any, ...], what: str) -> list[Any]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise forms.ValidationError(f"Give a JSON list of {what}s (empty for all).")
    unknown = [v for v in value if v not in known or isinstance(v, bool)]
    if unknown:
        raise forms.ValidationError(
            f"Unknown {what}{'s' if len(unknown) > 1 else ''}: "
            + ", ".join(repr(v) for v in unknown)
            + ". Known: "
            + ", ".join(str(k) for k in known)
            + "."
        )
    return [k for k in known if k in value]  # the catalog's order, no repeats


@admin.register(ModelRoute)
class ModelRouteAdmin(admin.ModelAdmin):
    form = ModelRouteForm
    list_display = [
        "name",
        "provider",
        "upstream_model",
        "allowed_sizes",
        "allowed_seconds",
        "price_per_second",
        "listed",
        "enabled",
        "position",
    ]
    list_editable = ["provider", "price_per_second", "listed", "enabled"]
    list_filter = ["provider", "listed", "enabled"]
    list_select_related = ["provider"]
    search_fields = ["name", "upstream_model"]

    readonly_fields = ["effective_capabilities", "effective_prices", "model_licence"]

    @admin.display(description="Licence of the model's weights")
    def model_licence(self, route: ModelRoute) -> str:
        if not route.pk or route.provider.kind != registry.DIFFUSERS:
            return "—"
        from .diffusers import licence_text

        return licence_text(route.upstream_model or route.name, enabled=route.enabled)

    def save_model(self, request: HttpRequest, obj: ModelRoute, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.enabled and obj.provider.kind == registry.DIFFUSERS:
            from .diffusers import licence_warning

            if warning := licence_warning(obj.upstream_model or obj.name):
                self.message_user(request, f"{obj.name}: {warning}", messages.WARNING)

    @admin.display(description="What the model takes (the engine's, with the overrides)")
    def effective_capabilities(self, route: ModelRoute) -> str:
        if not route.pk:
            return "—"
        caps = registry.capabilities(route.provider.kind, route.upstream_model or route.name)
        merged = caps.merged(route.capabilities)
        return json.dumps(merged.to_json())

    @admin.display(description="What a second costs (the route's prices, else the vendor's)")
    def effective_prices(self, route: ModelRoute) -> str:
        if not route.pk:
            return "—"
        table = catalog.route_of(route).prices
        return prices.describe(table) if table else "unpriced"

    @admin.display(description="Sizes")
    def allowed_sizes(self, route: ModelRoute) -> str:
        return ", ".join(route.sizes) if route.sizes else "all"

    @admin.display(description="Durations")
    def allowed_seconds(self, route: ModelRoute) -> str:
        return ", ".join(str(s) for s in route.seconds) if route.seconds else "all"
