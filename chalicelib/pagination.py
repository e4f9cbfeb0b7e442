"""Canvas-style bookmark pagination: ``per_page``, ``page`` tokens and the ``Link`` header."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Optional, Sequence
from urllib.parse import urlencode

from chalicelib.errors import InvalidParameter
from chalicelib.ids import MAX_ID

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
FIRST_PAGE = "first"
BOOKMARK_PREFIX = "bookmark:"
_DIGITS = re.compile(r"\A[0-9]+\Z")


@dataclass(frozen=True)
class PageRequest:
    """Where a page starts and how long it is."""

    after_id: int
    per_page: int
    page: str  # the page token as the client sent it ("first" when absent)


def parse_per_page(raw: Optional[str]) -> int:
    """Canvas's rule: default 10, above 100 means 100, anything but a positive integer is a 400."""
    if raw is None or raw == "":
        return DEFAULT_PER_PAGE
    if not _DIGITS.match(raw) or not raw.strip("0"):
        raise InvalidParameter("per_page", "per_page must be a positive integer", "invalid")
    digits = raw.lstrip("0")
    # Compare by length first: int() refuses strings of more than 4,300 digits.
    return MAX_PER_PAGE if len(digits) > 3 else min(int(digits), MAX_PER_PAGE)


def encode_bookmark(last_id: int) -> str:
    """An opaque token for the page after ``last_id``."""
    payload = json.dumps([last_id], separators=(",", ":")).encode()
    return BOOKMARK_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_page(raw: Optional[str]) -> int:
    """The id a page starts after: 0 for the first page. Any token we did not issue is a 400;
    a token only ever positions a query inside the caller's own account."""
    if raw is None or raw in ("", FIRST_PAGE):
        return 0
    invalid = InvalidParameter("page", "page is not a valid page token", "invalid")
    if not raw.startswith(BOOKMARK_PREFIX) or len(raw) > 100:
        raise invalid
    encoded = raw[len(BOOKMARK_PREFIX):]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 1
        or type(decoded[0]) is not int
        or not 0 <= decoded[0] <= MAX_ID
        or encode_bookmark(decoded[0]) != raw  # only the exact tokens we issue
    ):
        raise invalid
    return decoded[0]


def page_request(page: Optional[str], per_page: Optional[str]) -> PageRequest:
    return PageRequest(decode_page(page), parse_per_page(per_page), page or FIRST_PAGE)


def link_header(
    url: str, query: Sequence[tuple[str, str]], page: PageRequest, next_after: Optional[int]
) -> str:
    """Canvas's ``Link`` header: current, next (only when another page exists) and first.
    With bookmarks there is no ``prev`` and no ``last``. The request's other parameters are
    kept, with ``page`` and ``per_page`` last."""
    # access_token is refused as a credential; it must not travel on in the links either.
    kept = [(name, value) for name, value in query if name not in ("page", "per_page", "access_token")]

    def link(token: str, rel: str) -> str:
        params = kept + [("page", token), ("per_page", str(page.per_page))]
        return f'<{url}?{urlencode(params, safe=":")}>; rel="{rel}"'

    links = [link(page.page, "current")]
    if next_after is not None:
        links.append(link(encode_bookmark(next_after), "next"))
    links.append(link(FIRST_PAGE, "first"))
    return ",".join(links)
