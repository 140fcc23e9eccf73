"""``manage.py providers add|list|check``: the providers, from scripts.

    providers add NAME --kind KIND --base-url URL (--key-env VAR | --key-file PATH)
                  [--label TEXT] [--webhook-secret-env VAR] [--option KEY=VALUE ...] [--update]
    providers list
    providers check NAME

``add`` validates through the admin's ``ProviderForm`` (one set of rules) and creates
nothing on a refusal; ``check`` makes the engine's one cheap authenticated call. The key
itself is never printed: only where it is read from.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.forms.models import model_to_dict
from django.forms.utils import ErrorDict

from videos_app.models import Provider
from videos_app.providers import registry
from videos_app.providers.admin import ProviderForm, key_source, key_status
from videos_app.providers.probe import provider_check

# The form's fields as this command's options, so a refusal names what to change.
OPTION_NAMES = {
    "base_url": "--base-url",
    "api_key_env": "--key-env",
    "api_key_file": "--key-file",
    "webhook_secret_env": "--webhook-secret-env",
    "options": "--option",
}


class Command(BaseCommand):
    help = "Add, list and check the providers jobs run on."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="add|list|check")
        add = sub.add_parser("add", help="Add a provider (or with --update, change one).")
        add.add_argument("name")
        add.add_argument("--kind", help="One of: " + ", ".join(registry.engines()) + ".")
        add.add_argument("--base-url", help="The service's base URL, e.g. https://host/v1.")
        key = add.add_mutually_exclusive_group()
        key.add_argument("--key-env", help="The environment variable that holds the API key.")
        key.add_argument("--key-file", help="Or the absolute path of a file that holds it.")
        add.add_argument("--label", help="How the pages name it.")
        add.add_argument("--webhook-secret-env", help="The variable holding its webhook secret.")
        add.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="An engine option (repeatable); VALUE is read as JSON when it parses.",
        )
        add.add_argument("--update", action="store_true", help="Change an existing provider.")
        sub.add_parser("list", help="Print the providers.")
        check = sub.add_parser("check", help="Make one cheap authenticated call.")
        check.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            self.add_provider(options)
        elif options["action"] == "check":
            self.check_provider(options)
        else:
            self.list_providers()

    def add_provider(self, options: dict[str, Any]) -> None:
        name = options["name"]
        existing = Provider.objects.filter(name=name).first()
        if existing is not None and not options["update"]:
            raise CommandError(
                f"A provider named {name!r} already exists; add --update to change it."
            )
        instance = existing or Provider(name=name)
        data = model_to_dict(instance)
        data["options"] = {**data["options"], **_parse_options(options["option"])}
        given = {
            "kind": options["kind"],
            "base_url": options["base_url"],
            "label": options["label"],
            "webhook_secret_env": options["webhook_secret_env"],
        }
        data.update({field: value for field, value in given.items() if value is not None})
        # One key source replaces the other.
        if options["key_env"] is not None:
            data.update(api_key_env=options["key_env"], api_key_file="")
        elif options["key_file"] is not None:
            data.update(api_key_env="", api_key_file=options["key_file"])
        data["options"] = json.dumps(data["options"])  # as the admin's text box posts it
        data = {field: "" if value is None else value for field, value in data.items()}
        form = ProviderForm(data=data, instance=instance)
        if not form.is_valid():
            raise CommandError(_errors(form.errors))
        provider = form.save()
        self.stdout.write(f"{'Updated' if existing else 'Created'} provider {_summary(provider)}")

    def list_providers(self) -> None:
        providers = Provider.objects.annotate(route_count=Count("routes")).order_by("name")
        rows = [
            [
                p.name,
                p.kind,
                p.base_url or "—",
                key_source(p),
                "not needed" if "key" not in registry.needs(p.kind) else key_status(p),
                "yes" if p.enabled else "no",
                str(p.route_count),
            ]
            for p in providers
        ]
        header = ["NAME", "KIND", "BASE URL", "KEY FROM", "KEY", "ENABLED", "ROUTES"]
        self.stdout.write(table(header, rows))

    def check_provider(self, options: dict[str, Any]) -> None:
        provider = Provider.objects.filter(name=options["name"]).first()
        if provider is None:
            raise CommandError(f"No provider named {options['name']!r}{_known()}.")
        result = provider_check(provider)
        if not result.checkable:
            raise CommandError(result.message, returncode=2)
        if not result.ok:
            raise CommandError(f"{provider.name}: {result.message}")
        self.stdout.write(f"ok: {result.message}")


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--option takes KEY=VALUE, not {pair!r}.")
        try:
            parsed[key.strip()] = json.loads(value)
        except ValueError:
            parsed[key.strip()] = value
    return parsed


def _errors(errors: ErrorDict) -> str:
    lines = []
    for field, messages in errors.items():
        where = OPTION_NAMES.get(field, "--" + field.replace("_", "-"))
        for message in map(str, messages):
            if field == "kind":
                message += " Known kinds: " + ", ".join(registry.engines()) + "."
            lines.append(f"{where}: {message}" if field != "__all__" else message)
    return "\n".join(lines)


def _summary(provider: Provider) -> str:
    needs = registry.needs(provider.kind)
    key = f", key from {key_source(provider)} ({key_status(provider)})" if "key" in needs else ""
    url = f", {provider.base_url}" if provider.base_url else ""
    extra = f", options {json.dumps(provider.options)}" if provider.options else ""
    return f"{provider.name!r}: {provider.kind}{url}{key}{extra}."


def _known() -> str:
    names = list(Provider.objects.values_list("name", flat=True))
    return f" (known: {', '.join(names)})" if names else " (there are none yet)"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Plain columns, two spaces apart (greppable, and readable in a terminal)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
