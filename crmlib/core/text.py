"""Data values inside generated text: escaped once, here, for Markdown and HTML.

Every sentence a page builds from the data (product names, segment names, countries,
customer ids, file names) goes through :func:`md` before it reaches a Markdown cell,
so a product described as ``<script>alert(1)</script>`` or ``[click](javascript:…)``
is shown as those characters and never becomes a live tag or link. Links built from
data go through :func:`md_link`, which refuses any scheme but http(s), mailto and
relative paths.

Sources: OWASP XSS Prevention Cheat Sheet, rule 1 (HTML-escape untrusted data in
element content) and rule 5 (URL-validate untrusted links); CommonMark 0.31 §2.4
(backslash escapes make any ASCII punctuation literal).
"""
from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

#: ASCII punctuation with a Markdown meaning (CommonMark: any of it may be backslash-escaped).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
SAFE_SCHEMES = ("http", "https", "mailto", "")


def md(value: Any) -> str:
    """``value`` as literal text inside Markdown: HTML-escaped, then Markdown-escaped.

    ``<`` ``>`` ``&`` ``"`` ``'`` become entities (no tag, handler or attribute can
    start), Markdown punctuation gets a backslash (no link, image, emphasis or table
    cell can start), and line breaks become spaces (no heading or list can start).
    """
    text = " ".join(str(value).split())
    # named entities only: a numeric one (&#x27;) would get its '#' escaped below and show as text
    escaped = html.escape(text, quote=False).replace('"', "&quot;").replace("'", "&apos;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def safe_url(url: Any) -> str | None:
    """``url`` when its scheme is http(s), mailto or none (a relative path); else ``None``."""
    text = str(url).strip()
    scheme = urlsplit(text).scheme.lower()
    # browsers ignore control characters and spaces inside a scheme ("java\tscript:")
    squeezed = re.sub(r"[\x00-\x20]", "", text).lower()
    if scheme not in SAFE_SCHEMES or re.match(r"^(javascript|vbscript|data):", squeezed):
        return None
    return text


def md_link(label: Any, url: Any) -> str:
    """A Markdown link with an escaped label; only the label when the URL is not safe."""
    target = safe_url(url)
    if target is None:
        return md(label)
    return f"[{md(label)}](<{target.replace('>', '%3E').replace('<', '%3C')}>)"
