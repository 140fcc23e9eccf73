"""The usage page: this month's spend against each of the user's teams' caps, then videos,
rendered seconds and estimated cost per creator."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import budgets, selectors


@login_required
@require_GET
def usage_page(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("month", "").strip()
    month = selectors.parse_month(raw) if raw else None
    error = ""
    if raw and month is None:
        error = f"“{raw}” is not a month; use the form YYYY-MM, e.g. 2026-11."
    rows = [] if error else selectors.usage_by_user(user=request.user, month=month)
    totals = {
        "videos": sum(r.videos for r in rows),
        "seconds": sum(r.seconds for r in rows),
        "cost": sum((r.cost for r in rows), Decimal(0)),
        "unpriced": sum(r.unpriced for r in rows),
    }
    return render(
        request,
        "videos/usage.html",
        {
            "rows": rows,
            "totals": totals,
            "month": month,
            "month_value": raw,
            "error": error,
            # Always this month's: a cap is monthly (two queries however many teams).
            "budgets": budgets.member_budgets(user=request.user),
            "this_month": budgets.month_start(),
        },
        status=400 if error else 200,
    )
