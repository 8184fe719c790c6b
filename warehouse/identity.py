"""One normalisation of what identifies a thing: a SKU, a serial number, an electronic id.

A person reads `LTP0001008`, `ltp0001008 `, `ＬTP0001008` (a full-width L) and
`LTP\u200b0001008` (a zero-width space inside) as one serial; so does the
application. Every form, import, service, filter and the admin passes these
values through `identity_clean` before it stores or looks them up, and the
database compares them by `identity_key`:

- `identity_clean(text)`: what is stored and shown: invisible characters
  removed (format characters such as zero-width spaces and joiners, the BOM,
  the soft hyphen, bidi marks; control characters; variation selectors), then
  Unicode NFKC (full-width letters become plain ones, ligatures their
  letters), then the surrounding whitespace trimmed. Case is kept as typed.
- `identity_key(text)`: what is compared: the clean value in lower case.

The database owns uniqueness: the SQL functions `identity_clean(text)` and
`identity_key(text)` (created by warehouse migration 0011) define the same
steps, and unique indexes on `identity_key(...)` refuse a twin whatever the
path that writes it. Lookups go through the `identity` transform
(`Device.objects.filter(serial__identity="ltp0001008")`), which applies the
SQL function to both sides, so the query reads those indexes.

The key is PostgreSQL's `lower()`, not full Unicode case folding (PostgreSQL
below 18 has none): `ß` and `ss`, or `ς` and `σ` only when lower() makes
them equal, are different keys. Where the two could differ on an exotic
letter, the SQL definition is the truth for uniqueness; the Python key
follows it (one character to one, as the server's UTF-8 ctype maps them),
and agrees with it on everything a person types (tests compare both).
Invisible characters are removed *before* NFKC, so a zero-width space
between a letter and its accent cannot keep them from composing.
"""

import re
import unicodedata

from django import forms
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models

from .fields import nul_refuse

# Format (Cf) and control (Cc) characters of Unicode 15, with the invisible
# marks around them: the combining grapheme joiner, variation selectors,
# Mongolian free variation selectors and the Hangul fillers. Written with
# escapes both Python's `re` and PostgreSQL's regular expressions read alike;
# migration 0011 freezes the same class in SQL (a test checks they agree).
INVISIBLE = (
    r"[\u0001-\u001f\u007f-\u009f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f"
    r"\u0890-\u0891\u08e2\u115f-\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)
# The whitespace NFKC leaves as it is (every other space becomes " "; tabs
# and line breaks are control characters, removed already).
SPACES = " \u1680\u2028\u2029"

_INVISIBLE = re.compile(INVISIBLE)
# The one letter whose Python lower case is two characters where PostgreSQL's is one.
_LOWER_SPECIAL = {"\u0130": "i"}


def identity_clean(text) -> str:
    """The value to store and show: no invisible characters, NFKC, trimmed; case as typed."""
    if text is None:
        return ""
    text = _INVISIBLE.sub("", str(text).replace("\x00", ""))
    return unicodedata.normalize("NFKC", text).strip(SPACES)


def identity_key(text) -> str:
    """What is compared: the clean value in lower case, as SQL `identity_key()` has it."""
    return "".join(_LOWER_SPECIAL.get(c) or c.lower() for c in identity_clean(text))


def identity_repeated(values) -> list[str]:
    """The values given more than once, compared by key (each shown as first given)."""
    first: dict[str, str] = {}
    repeated: dict[str, str] = {}
    for value in values:
        key = identity_key(value)
        if key in first:
            repeated.setdefault(key, first[key])
        else:
            first[key] = value
    return sorted(repeated.values())


class IdentityKey(models.Transform):
    """`identity_key(field)` in SQL; as a lookup (`serial__identity=...`) on both sides.

    Bilateral: the value compared is passed through the same SQL function, so
    Python never has to agree with the index for a lookup to find its row.
    """

    function = "identity_key"
    lookup_name = "identity"
    bilateral = True
    output_field = models.CharField()


models.CharField.register_lookup(IdentityKey)


class IdentityFormField:
    """Mixed into a form field: what is typed is cleaned (`identity_clean`) before validation."""

    def to_python(self, value):
        nul_refuse(value)  # refused, not cleaned away: what was typed is not what would be stored
        value = super().to_python(value)
        return identity_clean(value) if value not in self.empty_values else value


class IdentityCharFormField(IdentityFormField, forms.CharField):
    pass


class IdentityField(models.CharField):
    """A SKU, serial or electronic id: cleaned whenever a form or `full_clean` reads it.

    The admin and model forms store the clean value; services clean what they
    are given themselves. Uniqueness is declared on `IdentityKey(...)` in Meta.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return identity_clean(value) if value is not None else value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": IdentityCharFormField, **kwargs})


class IdentityContains(models.Lookup):
    """`identity_key(field) LIKE '%' || identity_key(text) || '%'`, the text's `%` `_` literal.

    `serial__identity_contains="0101"`: a fragment typed in any case or form.
    Written as the trigram indexes on `identity_key(...)` (GIN, `gin_trgm_ops`)
    are, so a fragment reads the index instead of walking the table.
    """

    lookup_name = "identity_contains"
    pattern = "LIKE '%%' || {} || '%%'"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # Escaped after the key is made: NFKC turns a full-width ％ into a plain %.
        typed = connection.pattern_esc.format(f"identity_key({rhs})")
        return f"identity_key({lhs}) {self.pattern.format(typed)}", [*lhs_params, *rhs_params]


class IdentityStartsWith(IdentityContains):
    """`identity_key(field) LIKE identity_key(text) || '%'`: a code's first characters."""

    lookup_name = "identity_startswith"
    pattern = "LIKE {} || '%%'"


models.CharField.register_lookup(IdentityContains)
models.CharField.register_lookup(IdentityStartsWith)


def identity_rank(text: str, *fields: str) -> models.Case:
    """0 when one of `fields` is the text (by key), 1 when one starts with it, else 2.

    Suggestions and searches order by it first: a whole code typed shows its
    row before the rows that merely contain it.
    """
    exact = models.Q()
    prefix = models.Q()
    for field in fields:
        exact |= models.Q(**{f"{field}__identity": text})
        prefix |= models.Q(**{f"{field}__identity_startswith": text})
    return models.Case(
        models.When(exact, then=models.Value(0)),
        models.When(prefix, then=models.Value(1)),
        default=models.Value(2),
        output_field=models.IntegerField(),
    )


def identity_trigram_index(*fields: str, name: str) -> GinIndex:
    """A GIN trigram index (pg_trgm) on `identity_key(field)` of each field, for fragments.

    One index of several columns serves a search of any of them (a BitmapOr).
    """
    return GinIndex(
        *(OpClass(IdentityKey(field), name="gin_trgm_ops") for field in fields), name=name
    )
