"""Page bytes to text: encoding detection for pages whose headers or meta tags lie, and HTML to clean text."""

from __future__ import annotations

import re

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree

_NOISE = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "template",
    "svg",
    "button",
    "select",
)
_BLOCKS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "main",
}
_LATIN = {"ascii", "latin-1", "latin1", "iso-8859-1", "cp1252", "windows-1252"}
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u200b]+")


def decode_page(
    body: bytes, scrapy_text: str | None, declared: str | None, forced: str | None = None
) -> tuple[str, str | None]:
    """The page's text and, when the declared encoding was wrong, a note saying what was used instead.

    ``scrapy_text`` is Scrapy's own decoding (headers, BOM, meta charset); it is trusted unless it holds
    replacement characters or a Latin code page was guessed for bytes that are not ASCII.
    """
    if forced:
        return body.decode(forced, errors="replace"), None
    declared_norm = (declared or "").lower()
    suspicious = (
        scrapy_text is None
        or "\ufffd" in scrapy_text
        or (declared_norm in _LATIN and any(b > 0x7F for b in body[:65536]))
    )
    if not suspicious:
        return scrapy_text or "", None
    for encoding in ("utf-8", "gb18030", "big5"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, _note(declared, encoding)
    best = from_bytes(body).best()
    if best is not None:
        return str(best), _note(declared, best.encoding)
    return body.decode("utf-8", errors="replace"), _note(declared, "utf-8 with replacements")


def _note(declared: str | None, used: str) -> str | None:
    if declared and declared.lower().replace("_", "-") == used:
        return None
    return f"declared encoding {declared or 'none'} does not match the bytes; decoded as {used}"


def clean_lines(text: str) -> str:
    """Collapse runs of spaces (incl. full-width), strip each line, drop empty lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment without scripts, styles, navigation or forms; one line per block."""
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_lines(html)
    for node in root.xpath("|".join(f".//{tag}" for tag in _NOISE)):
        node.drop_tree()
    for node in root.iter(etree.Comment):
        node.drop_tree()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == "br":
            node.tail = "\n" + (node.tail or "")
        elif node.tag in _BLOCKS:
            node.tail = "\n" + (node.tail or "")
            node.text = "\n" + (node.text or "")
    return clean_lines(root.text_content())
