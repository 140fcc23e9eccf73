"""``manage.py models check [--load]``: are each diffusers route's weights where it says?

    models check            each route's weights directory and what is missing from it
    models check --load     ... and whether its pipeline loads (on this host's GPU, if any:
                            run it on a GPU host, with the GPU venv)

The answer comes from the model side itself (the diffusers child's ``check`` request), so it
reads the directory exactly as a job would, with the network off. Exit status 1 when any
route's weights are missing or do not load.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos_app.management.commands.providers import table
from videos_app.models import ModelRoute
from videos_app.providers import registry
from videos_app.providers.base import ProviderError
from videos_app.providers.diffusers import DiffusersEngine, route_settings, stop_child


class Command(BaseCommand):
    help = "Check the open-weights models' weights (diffusers routes)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="check")
        check = sub.add_parser("check", help="Each diffusers route's weights, and what is missing.")
        check.add_argument(
            "--load", action="store_true", help="Also load each pipeline (slow; needs the memory)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = list(
            ModelRoute.objects.select_related("provider").filter(provider__kind=registry.DIFFUSERS)
        )
        if not rows:
            self.stdout.write(
                "No diffusers routes (add a provider of kind diffusers, then routes)."
            )
            return
        results = [self.check_route(row, load=options["load"]) for row in rows]
        stop_child()
        header = ["MODEL", "FAMILY", "WEIGHTS", "STATUS"]
        self.stdout.write(table(header, [list(r[:4]) for r in results]))
        for name, *_, detail in results:
            if detail:
                self.stdout.write(f"{name}: {detail}")
        if any(status != "ok" for *_, status, _ in results):
            raise CommandError("Some routes' weights are missing or do not load.")

    def check_route(self, row: ModelRoute, *, load: bool) -> tuple[str, str, str, str, str]:
        """(model, family, weights, status, detail) of one route."""
        family = row.upstream_model or row.name
        weights = str(row.options.get("weights") or "—")
        try:
            route = route_settings(family, row.options)
            answer = DiffusersEngine.from_row(row.provider).check(route, load=load)
        except ValueError as exc:
            return row.name, family, weights, "misconfigured", str(exc)
        except ProviderError as exc:
            return row.name, family, weights, "error", f"{exc.code}: {exc.message}"
        if answer.get("ok"):
            return row.name, family, weights, "ok", "loads" if load else ""
        missing = ", ".join(str(m) for m in answer.get("missing") or [])
        status = "missing" if missing else "does not load"
        return row.name, family, weights, status, str(answer.get("message") or missing)
