"""Walking a keyset-paged list as a person does: by its First / Previous / Next / Last links."""

import html
import re

_LINK = r'<a href="([^"]+)" rel="{}">'


def link(response, rel: str) -> str | None:
    """The address of the page's `rel` link (first, prev, next, last), or None when it has none."""
    found = re.search(_LINK.format(rel), response.content.decode())
    return html.unescape(found.group(1)) if found else None


def follow(client, response, rel: str):
    """The page the `rel` link of `response` leads to (it must be there)."""
    address = link(response, rel)
    assert address, f"the page has no {rel} link"
    return client.get(address)
