"""The 监测方案 expression language: one small syntax for plans and for search.

=====================  ==========================================================================
``封丘``                a word: the post holds it (a plan finds it inside longer words, 封丘县; search
                       finds it as the segmenter cut it)
``"COVID-19 疫苗"``     a quoted phrase: the text between the quotes, operators and spaces included
``a|b``                 either (lowest precedence)
``a+b``                 both
``a-b``                 a and not b; ``-`` excludes what follows it up to the next ``+``, ``-`` or ``|``
                       (between two ASCII letters or digits it is part of the word: COVID-19)
``a b``                 words side by side form a group: any of them (search with operator "and": all)
``( … )``               grouping
``title:封丘``          the title holds the word (``标题:``); also ``title:(爆炸|起火)``
``kind:gov``            posts of one source kind: news, gov, forum, social (``来源:``)
``region:4107``         posts naming a place under that administrative code (2, 4, 6, 9 or 12 digits,
                       or a 6-digit code such as 410700; ``地区:``)
=====================  ==========================================================================

Precedence, tightest first: side-by-side group, ``+`` / ``-``, ``|``. Full-width forms (（）｜＋－：) are
read as their ASCII forms; case does not matter. ``(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)-演练`` is a
place plan. Bad input is an ``ExpressionError`` naming the character position and the reason in Chinese;
the size is bounded (MAX_CHARS, MAX_WORDS, MAX_WORD_CHARS, MAX_DEPTH) so no expression can slow a stage.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

MAX_CHARS = 50_000
MAX_WORDS = 1_000
MAX_WORD_CHARS = 100
MAX_DEPTH = 20
SOURCE_KINDS = ("news", "gov", "forum", "social")
REGION_LENGTHS = (2, 4, 6, 9, 12)
FIELDS: dict[str, Literal["title", "kind", "region"]] = {
    "title": "title", "标题": "title",
    "kind": "kind", "来源": "kind", "来源类型": "kind",
    "region": "region", "地区": "region", "地域": "region",
}
_OPERATORS = "|+-()\""


class ExpressionError(ValueError):
    """A bad expression: ``position`` (1-based character, 0 for the whole) and a Chinese ``reason``."""

    def __init__(self, reason: str, position: int = 0) -> None:
        self.reason = reason
        self.position = position
        super().__init__(f"第 {position} 个字符：{reason}" if position else reason)


# --- the tree -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # folded (NFKC, lower case, blanks collapsed)
    title: bool = False  # only in the title
    quoted: bool = False
    raw: str = field(default="", compare=False)  # as written (search segments it as posts were)


@dataclass(frozen=True, slots=True)
class Kind:
    value: str


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # canonical significant digits (410700 -> 4107)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Word | Kind | Region | And | Or | Not


_WIDE = re.compile("[\u3000\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")  # full-width letters, digits, space


def fold(text: str) -> str:
    """What words and texts are compared as: lower case, runs of blanks as one space, and NFKC where the
    text holds full-width letters, digits or spaces (ＰＭ２．５ is pm2.5). NFKC costs ~100 ns a character
    and most Chinese text has nothing to fold, so it runs only then (the same for words and texts)."""
    if _WIDE.search(text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.lower().split())


def canonical_region(code: str) -> str | None:
    """410727 -> 410727, 410700 -> 4107, 410000 -> 41, 4107 -> 4107; None if not a code."""
    if not code.isdigit() or not code.isascii() or len(code) not in REGION_LENGTHS:
        return None
    significant = len(code.rstrip("0")) or 2
    return code[: next(n for n in REGION_LENGTHS if n >= significant)]


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "phrase", "field", "|", "+", "-", "(", ")", "jux"
    text: str
    pos: int  # 1-based character position in the original text


def _normalize(text: str) -> tuple[str, list[int]]:
    """NFKC character by character, keeping each output character's 1-based original position."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text, 1):
        norm = unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch
        for c in norm:
            out.append(c)
            where.append(i)
    return "".join(out), where


def _tokens(text: str) -> list[_Token]:
    norm, where = _normalize(text)
    tokens: list[_Token] = []
    i, n = 0, len(norm)
    while i < n:
        ch = norm[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            end = norm.find('"', i + 1)
            if end < 0:
                raise ExpressionError("引号没有结束（缺少后一个 \"）", where[i])
            tokens.append(_Token("phrase", norm[i + 1:end], where[i]))
            i = end + 1
            continue
        if ch in "|+-()":
            tokens.append(_Token(ch, ch, where[i]))
            i += 1
            continue
        start = i
        while i < n and not norm[i].isspace() and (norm[i] not in _OPERATORS or _inner_dash(norm, i, start)):
            if norm[i] == ":" and norm[start:i].lower() in FIELDS:
                break
            i += 1
        if i < n and norm[i] == ":" and norm[start:i].lower() in FIELDS:
            tokens.append(_Token("field", FIELDS[norm[start:i].lower()], where[start]))
            i += 1
            continue
        tokens.append(_Token("word", norm[start:i], where[start]))
    return _with_juxtaposition(tokens)


def _inner_dash(text: str, i: int, start: int) -> bool:
    """A "-" between two ASCII letters or digits is part of the word (COVID-19, 0731-88888888), not "not"."""
    return (text[i] == "-" and start < i < len(text) - 1 and text[i - 1].isascii() and text[i - 1].isalnum()
            and text[i + 1].isascii() and text[i + 1].isalnum())


def _with_juxtaposition(tokens: list[_Token]) -> list[_Token]:
    """A "jux" token between two operands written side by side (``a b``, ``a (b)``, ``(a) "b"``)."""
    out: list[_Token] = []
    for token in tokens:
        if out and out[-1].kind in ("word", "phrase", ")") and token.kind in ("word", "phrase", "field", "("):
            out.append(_Token("jux", " ", token.pos))
        out.append(token)
    return out


class _Parser:
    def __init__(self, text: str, juxtaposition: Literal["or", "and"]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.jux = juxtaposition
        self.words = 0
        self.end = len(text) + 1

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def missing(self, after: _Token | None, what: str = "词") -> ExpressionError:
        token = self.peek()
        if after is not None:
            names = {"|": "「|」", "+": "「+」", "-": "「-」", "(": "「(」", "field": "「:」"}
            shown = names.get(after.kind, "")
            if token is None:
                return ExpressionError(f"{shown}后面缺少{what}", after.pos)
            return ExpressionError(f"{shown}后面应是{what}，却是「{token.text}」", token.pos)
        if token is None:
            return ExpressionError(f"缺少{what}", self.end)
        return ExpressionError(f"这里应是{what}，却是「{token.text}」", token.pos)

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("表达式为空")
        node = self.or_expr(0)
        token = self.peek()
        if token is not None:
            if token.kind == ")":
                raise ExpressionError("多余的「)」，前面没有对应的「(」", token.pos)
            raise ExpressionError(f"这里应是运算符，却是「{token.text}」", token.pos)
        return node

    def or_expr(self, depth: int) -> Node:
        parts = [self.and_expr(depth, None)]
        while (token := self.peek()) is not None and token.kind == "|":
            self.take()
            parts.append(self.and_expr(depth, token))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self, depth: int, after: _Token | None) -> Node:
        positive: list[Node] = []
        negative: list[Node] = []
        token = self.peek()
        if token is not None and token.kind == "-":
            self.take()
            negative.append(self.group(depth, token))
        else:
            positive.append(self.group(depth, after))
        while (token := self.peek()) is not None and token.kind in ("+", "-"):
            self.take()
            if token.kind == "+" and (nxt := self.peek()) is not None and nxt.kind == "-":
                self.take()
                negative.append(self.group(depth, nxt))
            else:
                (positive if token.kind == "+" else negative).append(self.group(depth, token))
        parts = positive + [Not(n) for n in negative]
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def group(self, depth: int, after: _Token | None) -> Node:
        parts = [self.unary(depth, after)]
        while (token := self.peek()) is not None and token.kind == "jux":
            self.take()
            parts.append(self.unary(depth, token))
        if len(parts) == 1:
            return parts[0]
        return Or(tuple(parts)) if self.jux == "or" else And(tuple(parts))

    def unary(self, depth: int, after: _Token | None, title: bool = False) -> Node:
        token = self.peek()
        if token is None or token.kind in ("|", "+", "-", ")", "jux"):
            raise self.missing(after)
        self.take()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise ExpressionError(f"括号嵌套超过 {MAX_DEPTH} 层", token.pos)
            if (nxt := self.peek()) is not None and nxt.kind == ")":
                raise ExpressionError("括号里没有词", token.pos)
            if nxt is None:
                raise ExpressionError("「(」没有配对的「)」", token.pos)
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind != ")":
                raise ExpressionError("「(」没有配对的「)」", token.pos)
            self.take()
            return _in_title(node) if title else node
        if token.kind == "field":
            return self.field(token, depth, title)
        return self.word(token, title)

    def field(self, token: _Token, depth: int, title: bool) -> Node:
        if token.text == "title":
            return self.unary(depth, token, title=True)
        value = self.peek()
        if value is None or value.kind not in ("word", "phrase"):
            raise self.missing(token, "来源类型" if token.text == "kind" else "地区代码")
        self.take()
        if title:
            raise ExpressionError("标题范围里不能再写来源类型或地区", token.pos)
        if token.text == "kind":
            kind = value.text.strip().lower()
            if kind not in SOURCE_KINDS:
                kinds = '、'.join(SOURCE_KINDS)
                raise ExpressionError(f"来源类型「{value.text[:20]}」不认识，只能是 {kinds}",
                                      value.pos)
            return Kind(kind)
        code = canonical_region(value.text.strip())
        if code is None:
            raise ExpressionError(f"地区代码「{value.text[:20]}」须为 2、4、6、9 或 12 位数字", value.pos)
        return Region(code)

    def word(self, token: _Token, title: bool) -> Word:
        text = fold(token.text)
        if not text:
            raise ExpressionError("引号里没有词", token.pos)
        if len(text) > MAX_WORD_CHARS:
            raise ExpressionError(f"词「{text[:10]}…」有 {len(text)} 个字，一个词最多 {MAX_WORD_CHARS} 个",
                                  token.pos)
        if not any(ch.isalnum() for ch in text):
            raise ExpressionError(f"「{text[:20]}」不含文字或数字（正则等符号不是运算符，请用引号括住词）",
                                  token.pos)
        self.words += 1
        if self.words > MAX_WORDS:
            raise ExpressionError(f"词超过 {MAX_WORDS} 个，请拆成几个方案", token.pos)
        return Word(text, title=title, quoted=token.kind == "phrase", raw=token.text.strip())


def _in_title(node: Node) -> Node:
    """The tree with every word limited to the title (a scope distributes over and, or and not)."""
    if isinstance(node, Word):
        return Word(node.text, title=True, quoted=node.quoted, raw=node.raw)
    if isinstance(node, And):
        return And(tuple(_in_title(c) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_in_title(c) for c in node.children))
    if isinstance(node, Not):
        return Not(_in_title(node.child))
    raise ExpressionError("标题范围里不能再写来源类型或地区")


def parse(text: str, *, juxtaposition: Literal["or", "and"] = "or") -> Node:
    """The tree of ``text``; raises ExpressionError naming the position of the first problem."""
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"表达式有 {len(text)} 个字符，最多 {MAX_CHARS} 个")
    return _Parser(text, juxtaposition).parse()


def parse_plan(text: str) -> Node:
    """A plan's tree: like ``parse``, and it must need at least one word (a plan of only exclusions,
    source kinds or regions would match almost every post)."""
    node = parse(text)
    if _without_words(node) is not False:
        raise ExpressionError("方案至少要有一个必须出现的词（只写排除词、来源类型或地区会匹配几乎所有信息）")
    return node


def _without_words(node: Node) -> bool | None:
    """The tree's truth where no word is present: False, True, or None when it depends on the source
    kind or the region (three-valued logic)."""
    if isinstance(node, Word):
        return False
    if isinstance(node, Kind | Region):
        return None
    if isinstance(node, Not):
        inner = _without_words(node.child)
        return None if inner is None else not inner
    values = [_without_words(c) for c in node.children]
    if isinstance(node, And):
        return False if False in values else (True if all(values) else None)
    return True if True in values else (False if all(v is False for v in values) else None)


def words(node: Node) -> list[Word]:
    """Every word of the tree, in order, repeats kept."""
    if isinstance(node, Word):
        return [node]
    if isinstance(node, And | Or):
        return [w for c in node.children for w in words(c)]
    if isinstance(node, Not):
        return words(node.child)
    return []


def evaluate(node: Node, has: object, kind: str, regions: tuple[str, ...] | frozenset[str]) -> bool:
    """The tree's truth for one post: ``has(word) -> bool``, the post's source kind and the canonical
    codes of its places and every place above them."""
    if isinstance(node, Word):
        return bool(has(node))  # type: ignore[operator]
    if isinstance(node, Kind):
        return node.value == kind
    if isinstance(node, Region):
        return node.code in regions
    if isinstance(node, And):
        return all(evaluate(c, has, kind, regions) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, has, kind, regions) for c in node.children)
    return not evaluate(node.child, has, kind, regions)


def to_text(node: Node) -> str:
    """The tree written back fully parenthesized (tests and explanations)."""
    if isinstance(node, Word):
        plain = not node.quoted and not any(c in node.text for c in _OPERATORS + " :")
        body = node.text if plain else f'"{node.text}"'
        return f"title:{body}" if node.title else body
    if isinstance(node, Kind):
        return f"kind:{node.value}"
    if isinstance(node, Region):
        return f"region:{node.code}"
    if isinstance(node, And):
        return "(" + "+".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + "|".join(to_text(c) for c in node.children) + ")"
    return "-" + to_text(node.child)
