"""Check generated Markdown/HTML for live markup planted through data values (issue 16).

``live_markup(text)`` renders ``text`` as notebook Markdown (mistune, as nbconvert does;
raw HTML passes through it) and lists what would run or link in a browser: ``<script>``
and ``<img>`` elements, ``on*`` handler attributes, ``javascript:`` links, and any link
but a page's own download (data never becomes a link).
"""
from __future__ import annotations

import html.parser

#: Product, segment, source and country names a page must show as text.
HAZARDS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))")


class _Live(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "iframe", "svg", "object"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"{name}=")
            if name.lower() in ("href", "src") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{name}={value}")
        if tag == "a" and not (dict(attrs).get("href") or "").startswith("downloads/"):
            self.found.append(f"<a href={dict(attrs).get('href')}>")  # a link made from data


def live_markup(text: str) -> list[str]:
    """The live tags, handlers and ``javascript:`` links in ``text`` rendered as Markdown."""
    import mistune

    parser = _Live()
    parser.feed(mistune.html(str(text)))
    return parser.found
