"""Template filters for figures: one way to print a quantity and an amount of money."""

from django import template

from ..exceptions import fmt

register = template.Library()


@register.filter
def qty(value) -> str:
    """A quantity without trailing zeros: 12.500 → 12.5, 3.000 → 3."""
    return fmt(value)


@register.filter
def money(value) -> str:
    """An amount with two decimals and thousands separators: 1234.5 → 1,234.50."""
    return f"{value or 0:,.2f}"
