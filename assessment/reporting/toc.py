"""Post-process a rendered document: a numbered table of contents from its headings."""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"<h([23])([^>]*)>(.*?)</h\1>", re.S | re.I)
_ID = re.compile(r'\bid="([^"]+)"')
_TAGS = re.compile(r"<[^>]+>")


def insert_toc(page: str, marker: str = "<!-- TOC -->") -> str:
    """Give every h2/h3 in the main content an id and fill the contents list at ``marker``.

    Headings inside the ``<nav>`` itself and inside map iframes (escaped ``srcdoc``) are
    not touched: the iframe's markup is escaped, so the pattern cannot match it.
    """
    if marker not in page:
        raise ValueError(f"page must contain the table-of-contents marker {marker!r}, got none")
    head, _, body = page.partition(marker)
    nav_end = body.find("</nav>")
    if nav_end < 0:
        raise ValueError("page must close the contents <nav> after the marker, got no </nav>")
    nav_tail, main = body[:nav_end], body[nav_end:]
    entries: list[tuple[int, str, str]] = []
    used: set[str] = set()

    def _name(match: re.Match[str]) -> str:
        level, attrs, inner = int(match.group(1)), match.group(2), match.group(3)
        text = html.unescape(_TAGS.sub("", inner)).strip()
        found = _ID.search(attrs)
        anchor = found.group(1) if found else re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        base, n = anchor, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        entries.append((level, anchor, text))
        attrs = _ID.sub(f'id="{anchor}"', attrs) if found else f'{attrs} id="{anchor}"'
        return f"<h{level}{attrs}>{inner}</h{level}>"

    main = _HEADING.sub(_name, main)
    parts: list[str] = ["<ol>"]
    open_sub = False
    for level, anchor, text in entries:
        link = f'<a href="#{anchor}">{html.escape(text)}</a>'
        if level == 2:
            if open_sub:
                parts.append("</ol></li>")
                open_sub = False
            elif len(parts) > 1:
                parts.append("</li>")
            parts.append(f"<li>{link}")
        else:
            if not open_sub:
                parts.append("<ol>")
                open_sub = True
            parts.append(f"<li>{link}</li>")
    if open_sub:
        parts.append("</ol></li>")
    elif len(parts) > 1:
        parts.append("</li>")
    parts.append("</ol>")
    return head + "".join(parts) + nav_tail + main
