"""The top bar's unread count: ``{% inbox_unread as count %}`` (asked once per request)."""

from __future__ import annotations

from typing import Any

from django import template

from ..inbox.selectors import unread_count_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context: Any) -> int:
    request = context.get("request")
    return unread_count_for_request(request) if request is not None else 0
