"""Bookmarks, per_page and the Link header in isolation."""

from __future__ import annotations

import pytest

from chalicelib import pagination
from chalicelib.errors import InvalidParameter
from chalicelib.ids import MAX_ID


@pytest.mark.parametrize("last_id", [0, 1, 447617262252236, MAX_ID])
def test_bookmarks_round_trip(last_id):
    token = pagination.encode_bookmark(last_id)
    assert token.startswith("bookmark:") and "=" not in token
    assert pagination.decode_page(token) == last_id


@pytest.mark.parametrize("raw", [None, "", "first"])
def test_first_page(raw):
    assert pagination.decode_page(raw) == 0


def test_ids_beyond_the_id_space_are_rejected():
    import base64

    token = "bookmark:" + base64.urlsafe_b64encode(f"[{MAX_ID + 1}]".encode()).decode().rstrip("=")
    with pytest.raises(InvalidParameter):
        pagination.decode_page(token)


@pytest.mark.parametrize("raw, expected", [(None, 10), ("", 10), ("1", 1), ("007", 7), ("100", 100), ("101", 100),
                                           ("9" * 40, 100), ("9" * 5000, 100), ("0" * 5000 + "5", 5)])
def test_per_page(raw, expected):
    assert pagination.parse_per_page(raw) == expected


def test_link_header_format():
    page = pagination.PageRequest(after_id=0, per_page=2, page="first")
    header = pagination.link_header("http://h/p", [("workflow_state[]", "deleted"), ("per_page", "2")], page, 42)
    assert header == (
        '<http://h/p?workflow_state%5B%5D=deleted&page=first&per_page=2>; rel="current",'
        f'<http://h/p?workflow_state%5B%5D=deleted&page={pagination.encode_bookmark(42)}&per_page=2>; rel="next",'
        '<http://h/p?workflow_state%5B%5D=deleted&page=first&per_page=2>; rel="first"'
    )
    assert "next" not in pagination.link_header("http://h/p", [], page, None)
