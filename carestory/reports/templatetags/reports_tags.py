"""Small presentation helpers for the statistics pages."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """ "45 minutes", "5 hours", "3.5 days"; a dash when there is nothing to measure."""
    if value is None:
        return _("No stories published")
    minutes = value.total_seconds() / 60
    if minutes < 90:
        n = round(minutes)
        return ngettext("%(n)s minute", "%(n)s minutes", n) % {"n": n}
    hours = minutes / 60
    if hours < 48:
        n = round(hours)
        return ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n}
    days = round(hours / 24, 1)
    shown = number_format(days, decimal_pos=0 if days.is_integer() else 1)
    return ngettext("%(n)s day", "%(n)s days", 1 if days == 1 else 2) % {"n": shown}
