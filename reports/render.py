"""Render a ``Document`` as HTML, PDF (WeasyPrint: A4, page numbers, the Noto CJK fonts embedded) or
Word (python-docx, 宋体/Noto Serif CJK for East Asian text)."""

from __future__ import annotations

import base64
import io
from typing import Literal

from jinja2 import Environment, select_autoescape

from reports.document import Document, Heading, Image, Link, Para, Table

Format = Literal["html", "pdf", "docx"]
FORMATS: tuple[str, ...] = ("pdf", "docx", "html")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

CSS = """
@page { size: A4; margin: 20mm 18mm 22mm 18mm;
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                   font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; color: #555; } }
body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 10.5pt; line-height: 1.6;
       color: #111; max-width: 60em; margin: 0 auto; }
h1 { font-family: "Noto Sans CJK SC", sans-serif; text-align: center; font-size: 18pt; margin: 0 0 4pt; }
.subtitle { text-align: center; color: #444; margin: 0 0 14pt; font-size: 10pt; }
h2 { font-family: "Noto Sans CJK SC", sans-serif; font-size: 13pt; border-bottom: 1px solid #999;
     margin: 16pt 0 6pt; padding-bottom: 2pt; }
h3 { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; margin: 10pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 9.5pt; }
th, td { border: 1px solid #888; padding: 3pt 5pt; text-align: left; vertical-align: top;
         word-break: break-all; }
td:first-child { white-space: nowrap; }
th { background: #eef1f6; font-family: "Noto Sans CJK SC", sans-serif; font-weight: bold; }
figure { margin: 6pt 0 10pt; text-align: center; page-break-inside: avoid; }
figure img { max-width: 100%; }
figcaption { font-size: 9pt; color: #444; }
p.strong { font-weight: bold; }
a { color: #1a4fa0; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ doc.title }}</title>
<style>{{ css | safe }}</style></head><body>
<h1>{{ doc.title }}</h1><p class="subtitle">{{ doc.subtitle }}</p>
{% for b in blocks %}
{% if b.kind == "heading" %}<h{{ b.level }}>{{ b.text }}</h{{ b.level }}>
{% elif b.kind == "para" %}<p{% if b.strong %} class="strong"{% endif %}>{{ b.text }}</p>
{% elif b.kind == "image" %}<figure><img src="data:image/png;base64,{{ b.data }}" alt="{{ b.caption }}">
<figcaption>{{ b.caption }}</figcaption></figure>
{% elif b.kind == "table" %}
{% if b.rows %}<table><thead><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in b.rows %}<tr>{% for c in row %}<td>{% if c.url %}<a href="{{ c.url }}">{{ c.text }}</a>
{% else %}{{ c }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% else %}<p>{{ b.empty }}</p>{% endif %}
{% endif %}{% endfor %}
</body></html>"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_template = _env.from_string(TEMPLATE)


def _html_blocks(doc: Document) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append({"kind": "heading", "text": b.text, "level": min(max(b.level, 2), 3)})
        elif isinstance(b, Para):
            out.append({"kind": "para", "text": b.text, "strong": b.strong})
        elif isinstance(b, Image):
            out.append({"kind": "image", "data": base64.b64encode(b.png).decode(), "caption": b.caption})
        elif isinstance(b, Table):
            out.append({"kind": "table", "header": b.header, "rows": b.rows, "empty": b.empty})
    return out


def to_html(doc: Document) -> bytes:
    return _template.render(doc=doc, css=CSS, blocks=_html_blocks(doc)).encode("utf-8")


def to_pdf(doc: Document) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=to_html(doc).decode("utf-8")).write_pdf()


def _cell_text(c: object) -> str:
    return f"{c.text}（{c.url}）" if isinstance(c, Link) else str(c)


def _east_asian(run: object, font: str) -> None:
    from docx.oxml.ns import qn

    rpr = run._element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), font)


def _add_hyperlink(paragraph: object, text: str, url: str) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    part = paragraph.part  # type: ignore[attr-defined]
    rid = part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "1A4FA0")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(color)
    props.append(underline)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)  # type: ignore[attr-defined]


def _page_number_footer(section: object) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = section.footer.paragraphs[0]  # type: ignore[attr-defined]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(code: str) -> None:
        run = para.add_run()
        for kind, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            elif text == code:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {code} "
            else:
                el = OxmlElement("w:t")
                el.text = text
            run._r.append(el)

    para.add_run("第 ")
    field("PAGE")
    para.add_run(" 页 / 共 ")
    field("NUMPAGES")
    para.add_run(" 页")


def to_docx(doc: Document) -> bytes:
    from docx import Document as Word
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    word = Word()
    section = word.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.2)
    normal = word.styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.font.name = "Noto Serif CJK SC"
    _east_asian(normal, "宋体")
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        _east_asian(word.styles[name], "黑体")
    _page_number_footer(section)
    title = word.add_heading(doc.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = word.add_paragraph(doc.subtitle)
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for b in doc.blocks:
        if isinstance(b, Heading):
            word.add_heading(b.text, level=min(max(b.level - 1, 1), 3))
        elif isinstance(b, Para):
            run = word.add_paragraph().add_run(b.text)
            run.bold = b.strong
        elif isinstance(b, Image):
            word.add_picture(io.BytesIO(b.png), width=Cm(16.5))
            cap = word.add_paragraph(b.caption)
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(b, Table):
            if not b.rows:
                word.add_paragraph(b.empty)
                continue
            table = word.add_table(rows=1, cols=len(b.header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, b.header, strict=True):
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for row in b.rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    if isinstance(value, Link):
                        cell.text = ""
                        _add_hyperlink(cell.paragraphs[0], value.text, value.url)
                    else:
                        cell.text = _cell_text(value)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def render(doc: Document, fmt: str) -> bytes:
    if fmt == "html":
        return to_html(doc)
    if fmt == "pdf":
        return to_pdf(doc)
    if fmt == "docx":
        return to_docx(doc)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
