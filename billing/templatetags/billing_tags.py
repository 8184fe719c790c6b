"""Small filters of the billing pages: money, and links to pages that may not exist yet."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from warehouse.exceptions import fmt

register = template.Library()


@register.filter
def money(value) -> str:
    """An amount with two decimals and thousands separators: 1234.5 → 1,234.50."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f}"


@register.filter
def qty(value) -> str:
    """A quantity without trailing zeros: 2.500 → 2.5, 3.000 → 3."""
    return fmt(value)


@register.filter
def device_link(device) -> str:
    """A device's serial linking to its page; plain text while the devices pages are absent."""
    if device is None:
        return ""
    try:
        url = reverse("devices:device_detail", args=[device.pk])
    except NoReverseMatch:
        return format_html('<span class="serial">{}</span>', device.serial)
    return format_html('<a class="serial" href="{}">{}</a>', url, device.serial)


@register.simple_tag
def currency() -> str:
    """The one currency the business bills in."""
    return settings.INVENTORY_CURRENCY
