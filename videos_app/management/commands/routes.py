"""``manage.py routes set|list``: where each public model name runs, from scripts.

    routes set MODEL [--provider NAME] [--upstream-model NAME] [--price-per-second USD]
                     [--price KEY=USD ...] [--sizes 1280x720,720x1280] [--seconds 4,8]
                     [--option KEY=VALUE ...] [--listed | --unlisted] [--enable | --disable]
    routes list

``set`` creates the route or changes only what it is given (so running it twice changes
nothing the second time), validated through the admin's ``ModelRouteForm``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.forms.models import model_to_dict
from django.forms.utils import ErrorDict

from videos_app.management.commands.providers import table
from videos_app.models import ModelRoute, Provider
from videos_app.providers import catalog, prices, registry
from videos_app.providers.admin import ModelRouteForm

OPTION_NAMES = {
    "provider": "--provider",
    "upstream_model": "--upstream-model",
    "price_per_second": "--price-per-second",
    "prices": "--price",
    "sizes": "--sizes",
    "seconds": "--seconds",
    "options": "--option",
}


class Command(BaseCommand):
    help = "Set and list the model routes: which provider runs each public model name."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="set|list")
        route = sub.add_parser("set", help="Create a route, or change what is given.")
        route.add_argument("model", help="The public model name, e.g. sora-2.")
        route.add_argument("--provider", help="The provider's name (manage.py providers list).")
        route.add_argument("--upstream-model", help="The provider's own name for the model.")
        route.add_argument("--price-per-second", help="US dollars, e.g. 0.10 ('' for unknown).")
        route.add_argument(
            "--price",
            action="append",
            metavar="KEY=USD",
            help="A price by resolution and sound, e.g. 1080p=0.15 or *+audio=0.40 (again for "
            "each; KEY= removes one; '' removes them all). See providers/prices.py.",
        )
        route.add_argument("--sizes", help="e.g. 1280x720,720x1280 ('' for all).")
        route.add_argument("--seconds", help="e.g. 4,8 ('' for all).")
        route.add_argument(
            "--option",
            action="append",
            metavar="KEY=VALUE",
            help="What the route's engine also needs, e.g. weights=/srv/weights/wan2.2-ti2v-5b "
            "or steps=30 or cpu_offload=true for a diffusers route (VALUE is read as JSON when "
            "it parses, else as text; again for each; KEY= removes one; '' removes them all).",
        )
        listed = route.add_mutually_exclusive_group()
        listed.add_argument("--listed", dest="listed", action="store_const", const=True)
        listed.add_argument(
            "--unlisted",
            dest="listed",
            action="store_const",
            const=False,
            help="Not offered on the create form (still usable by name).",
        )
        enabled = route.add_mutually_exclusive_group()
        enabled.add_argument("--enable", dest="enabled", action="store_const", const=True)
        enabled.add_argument("--disable", dest="enabled", action="store_const", const=False)
        sub.add_parser("list", help="Print the routes.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "set":
            self.set_route(options)
        else:
            self.list_routes()

    def set_route(self, options: dict[str, Any]) -> None:
        name = options["model"]
        existing = ModelRoute.objects.filter(name=name).first()
        data = model_to_dict(existing or ModelRoute(name=name, position=_next_position()))
        if options["provider"] is not None:
            provider = Provider.objects.filter(name=options["provider"]).first()
            if provider is None:
                names = ", ".join(Provider.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(
                    f"--provider: no provider named {options['provider']!r} (known: {names}); "
                    "add it with manage.py providers add."
                )
            data["provider"] = provider.pk
        if options["upstream_model"] is not None:
            data["upstream_model"] = options["upstream_model"]
        if options["price_per_second"] is not None:
            data["price_per_second"] = options["price_per_second"].strip().removeprefix("$")
        if options["price"] is not None:
            data["prices"] = _prices(dict(data["prices"] or {}), options["price"])
        if options["sizes"] is not None:
            data["sizes"] = _items(options["sizes"])
        if options["seconds"] is not None:
            data["seconds"] = [int(s) if s.isdigit() else s for s in _items(options["seconds"])]
        if options["option"] is not None:
            data["options"] = _options(dict(data["options"] or {}), options["option"])
        for flag in ("listed", "enabled"):
            if options[flag] is not None:
                data[flag] = options[flag]
        for field in ("sizes", "seconds", "capabilities", "prices", "options"):
            data[field] = json.dumps(data[field])  # as the admin's text boxes post them
        data = {field: "" if value is None else value for field, value in data.items()}
        form = ModelRouteForm(data=data, instance=existing or ModelRoute())
        if not form.is_valid():
            raise CommandError(_errors(form.errors))
        route = form.save()
        self.stdout.write(f"{'Updated' if existing else 'Created'} route {_summary(route)}")
        if route.enabled and route.provider.kind == registry.DIFFUSERS:
            from videos_app.providers.diffusers import licence_warning

            if warning := licence_warning(route.upstream_model or route.name):
                self.stderr.write(f"Note: {warning}")

    def list_routes(self) -> None:
        rows = [
            [
                r.name,
                r.provider.name,
                r.upstream_model or r.name,
                _price(r),
                "yes" if r.enabled else "no",
                "yes" if r.listed else "no",
            ]
            for r in ModelRoute.objects.select_related("provider")
        ]
        header = ["MODEL", "PROVIDER", "UPSTREAM MODEL", "PRICE", "ENABLED", "LISTED"]
        self.stdout.write(table(header, rows))


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _next_position() -> int:
    """A new route goes after the others (the create form's order)."""
    last = ModelRoute.objects.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def _options(current: dict[str, Any], given: list[str]) -> dict[str, Any]:
    """``--option`` applied in order: KEY=VALUE sets (JSON when it parses), KEY= removes,
    '' clears."""
    for item in given:
        if not item.strip():
            current = {}
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"--option: give KEY=VALUE (e.g. steps=30), not {item!r}.")
        if not value.strip():
            current.pop(key.strip(), None)
            continue
        try:
            current[key.strip()] = json.loads(value)
        except ValueError:
            current[key.strip()] = value.strip()
    return current


def _prices(current: dict[str, Any], given: list[str]) -> dict[str, Any]:
    """``--price`` applied in order: KEY=USD sets, KEY= removes, '' clears."""
    for item in given:
        if not item.strip():
            current = {}
            continue
        key, sep, usd = item.partition("=")
        if not sep:
            raise CommandError(f"--price: give KEY=USD (e.g. 1080p=0.15), not {item!r}.")
        if usd.strip():
            current[key.strip()] = usd.strip().removeprefix("$")
        else:
            current.pop(key.strip(), None)
    return current


def _price(route: ModelRoute) -> str:
    """What a second costs there: the route's own table, else the vendor's list price."""
    table = catalog.route_of(route).prices
    return prices.describe(table) if table else "—"


def _errors(errors: ErrorDict) -> str:
    return "\n".join(
        f"{OPTION_NAMES.get(field, field)}: {message}" if field != "__all__" else message
        for field, messages in errors.items()
        for message in map(str, messages)
    )


def _summary(route: ModelRoute) -> str:
    sizes = ", ".join(route.sizes) or "all sizes"
    seconds = ", ".join(f"{s} s" for s in route.seconds) or "all durations"
    flags = [] if route.enabled else ["disabled"]
    flags += [] if route.listed else ["unlisted"]
    state = f" ({', '.join(flags)})" if flags else ""
    return (
        f"{route.name!r} -> {route.provider.name} as {route.upstream_model or route.name}, "
        f"{_price(route)}, {sizes}, {seconds}{state}."
    )
