"""`{% once_key %}`: the hidden one-time key of a form that writes (beside `{% csrf_token %}`)."""

from django import template
from django.utils.html import format_html

from warehouse.once import ONCE_FIELD, once_key_new

register = template.Library()


@register.simple_tag
def once_key():
    """A fresh key each time the form is rendered (see warehouse.once)."""
    return format_html('<input type="hidden" name="{}" value="{}">', ONCE_FIELD, once_key_new())
