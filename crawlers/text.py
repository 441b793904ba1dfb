"""Page bytes to text: encoding detection for pages whose headers or meta tags lie, and HTML to clean text."""

from __future__ import annotations

import re
import unicodedata

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
_UTF8 = {"utf-8", "utf8"}
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_CHINESE_CODECS = {"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp936", "cp950"}
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000\u2002\u2003\u200b]+")


def decode_page(
    body: bytes, scrapy_text: str | None, declared: str | None, forced: str | None = None
) -> tuple[str, str | None]:
    """The page's text and, when the declared encoding was wrong, a note saying what was used instead.

    ``scrapy_text`` is Scrapy's own decoding (headers, BOM, meta charset); it is trusted unless
    - it holds replacement characters, or a Latin code page was guessed for bytes that are not ASCII;
    - another encoding was declared but the bytes are valid UTF-8 holding Chinese text (a UTF-8 page
      declared GBK decodes "fine" as GB18030 into mojibake such as 缇や紬鍙嶆槧);
    - UTF-8 was declared and the bytes are valid UTF-8, but they read as no Chinese at all while
      GB18030 reads them as Chinese, and either charset-normalizer agrees or the UTF-8 reading is a
      jumble of scripts (short GBK text that happens to be valid UTF-8: 学校围墙 reads as ѧУΧǽ).
    """
    if forced:
        return body.decode(forced, errors="replace"), None
    declared_norm = (declared or "").lower().replace("_", "-")
    non_ascii = any(b > 0x7F for b in body[:65536])
    suspicious = (
        scrapy_text is None
        or "\ufffd" in scrapy_text
        or (declared_norm in _LATIN and non_ascii)
    )
    if not suspicious and non_ascii:
        utf8 = _strict(body, "utf-8")
        if declared_norm not in _UTF8 and utf8 is not None and _cjk_share(utf8) >= 0.5:
            return utf8, _note(declared, "utf-8")
        if declared_norm in _UTF8 and scrapy_text is not None and _cjk_share(scrapy_text) < 0.2:
            gb = _strict(body, "gb18030")
            chinese = gb is not None and _cjk_share(gb) >= 0.9
            if gb is not None and chinese and (_mixed_scripts(scrapy_text) or _detector_says_chinese(body)):
                return gb, _note(declared, "gb18030")
    if not suspicious:
        return scrapy_text or "", None
    for encoding in ("utf-8", "gb18030", "big5"):
        text = _strict(body, encoding)
        if text is None:
            continue
        return text, _note(declared, encoding)
    best = from_bytes(body).best()
    if best is not None:
        return str(best), _note(declared, best.encoding)
    return body.decode("utf-8", errors="replace"), _note(declared, "utf-8 with replacements")


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return None


def _cjk_share(text: str) -> float:
    """Share of the non-ASCII characters that are Chinese (CJK ideographs, CJK and full-width punctuation)."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0
    return sum(1 for c in wide if _CJK.match(c)) / len(wide)


def _mixed_scripts(text: str) -> bool:
    """Letters from several alphabets with none dominating: Cyrillic, Greek and Latin-extended mixed in
    one page is what GBK bytes read as UTF-8 look like, not what any language writes."""
    scripts: dict[str, int] = {}
    for c in text:
        if ord(c) > 0x7F and c.isalpha() and not _CJK.match(c):
            script = unicodedata.name(c, "UNKNOWN").split()[0]
            scripts[script] = scripts.get(script, 0) + 1
    total = sum(scripts.values())
    return len(scripts) >= 2 and max(scripts.values()) <= 0.8 * total


def _detector_says_chinese(body: bytes) -> bool:
    best = from_bytes(body).best()
    return best is not None and best.encoding.lower().replace("-", "_") in _CHINESE_CODECS


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
