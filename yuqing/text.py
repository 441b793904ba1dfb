"""Text cleaning and word segmentation, done once per post; every model reuses the tokens.

``clean_text`` turns whatever a crawler fetched (HTML fragments, entities, control characters, lone
surrogates, megabytes of text) into one bounded line of plain text; ``segment`` is jieba's precise mode
with HMM as jieba-rs computes it (``rjieba``, the Rust port: jieba's dictionary and HMM, about 20× faster
than ``jieba.lcut``), with the project's optional user dictionary (``yuqing/data/user_dict.txt``, or the
file named by ``YUQING_USER_DICT``) loaded once per process. It is the one segmenter of the project, in the
core: the nlp stage (``nlp.tokenize`` re-exports it), the search stores' queries
(``yuqing.storage.base.query_terms``), training and ``yuqing search reindex`` all call ``segment``, so a
query is cut into the words its posts were indexed with. There is no fallback: without jieba-rs,
segmenting raises ``SegmenterUnavailable`` saying so. jieba-rs and jieba agree on the tokens of most
posts (~97%); where they differ (mostly how the HMM cuts unknown words and how numbers with a decimal
point are kept) it is jieba-rs's cut that counts.
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

USER_DICT = Path(__file__).resolve().parent / "data" / "user_dict.txt"
USER_DICT_ENV = "YUQING_USER_DICT"
DEFAULT_CAP = 20_000
# a user-dictionary word: no whitespace, at most this long (jieba's own dictionary tops out at 16)
MAX_USER_WORD = 64

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,2000}>")
# control and invisible format characters, and lone surrogates (a str can hold them; no encoder accepts
# them, and jieba-rs raises UnicodeEncodeError on them)
_CONTROL_CHARS = (
    r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\ud800-\udfff"
)
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
# anything clean_text would change besides the cap: markup, entities, control characters, whitespace that
# is not one plain space between words
_DIRTY = re.compile(rf"[{_CONTROL_CHARS}<&]|[^\S ]|  |^ | $")



class SegmenterUnavailable(RuntimeError):
    """jieba-rs (``rjieba``) cannot be loaded: nothing can be segmented."""


class Segmenter(Protocol):
    """What is used of a ``rjieba.Jieba`` (the ``rjieba`` module's functions have the same signatures)."""

    def cut(self, text: str, hmm: bool = True) -> list[str]: ...

    def add_word(self, word: str, freq: int | None, tag: str | None) -> int: ...


_segmenter: Segmenter | None = None
_lock = threading.Lock()


def clean_text(text: str, cap: int = DEFAULT_CAP) -> tuple[str, bool]:
    """Strip HTML tags and entities and control characters, collapse whitespace, cut at ``cap``
    characters. Returns ``(clean, truncated)``."""
    if not text:
        return "", False
    if len(text) <= cap and not _DIRTY.search(text):
        return text, False
    # bound the work before the regexes run on a pathological input; markup shrinks when stripped
    raw_limit = cap * 4 + 1000
    truncated = len(text) > raw_limit
    text = text[:raw_limit]
    if "<" in text:
        text = _TAG.sub(" ", _SCRIPT_STYLE.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > cap:
        return text[:cap].rstrip(), True
    return text, truncated


def load_user_dict(segmenter: Segmenter, path: Path) -> tuple[int, list[str]]:
    """Add the words of a jieba user dictionary (``word [freq] [tag]`` a line, UTF-8) to ``segmenter``.

    A bad line (undecodable, a word with control characters or over MAX_USER_WORD characters, a freq that
    is not a non-negative integer, more than three fields) is skipped and reported, never fatal. Returns
    ``(words added, ["line N: why", …])``."""
    added, bad = 0, []
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        return 0, [f"{path}: {exc}"]
    for number, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError:
            bad.append(f"line {number}: not UTF-8")
            continue
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        word = fields[0]
        if len(fields) > 3:
            bad.append(f"line {number}: more than word, freq and tag")
            continue
        if len(word) > MAX_USER_WORD or _CONTROL.search(word) or "\ufffd" in word:
            bad.append(f"line {number}: not a word")
            continue
        freq: int | None = None
        if len(fields) > 1:
            if not fields[1].isdigit() or not fields[1].isascii() or len(fields[1]) > 12:
                bad.append(f"line {number}: freq {fields[1][:20]!r} is not a whole number")
                continue
            freq = int(fields[1])
        try:
            segmenter.add_word(word, freq, fields[2] if len(fields) > 2 else None)
        except Exception as exc:  # noqa: BLE001 - whatever jieba-rs refuses is one bad line, not a crash
            bad.append(f"line {number}: {type(exc).__name__}")
            continue
        added += 1
    return added, bad


def user_dict_path() -> Path:
    override = os.environ.get(USER_DICT_ENV)
    return Path(override) if override else USER_DICT


def _new_segmenter() -> Segmenter:
    """The ``rjieba`` module's own default segmenter: importing rjieba builds one (24 MiB of dictionary),
    so a second instance would only double that. rjieba is imported here, on first use, so the stages
    that only clean text (incidents) do not hold its dictionary."""
    try:
        import rjieba
    except ImportError as exc:
        raise SegmenterUnavailable(
            f"jieba-rs (the rjieba package) cannot be loaded ({exc}): the nlp stage and the search stores "
            "need it to segment Chinese text; install the project's dependencies (pip install -c "
            "constraints.txt -e .)"
        ) from exc

    return rjieba  # type: ignore[return-value]  # its cut / add_word act on rjieba's default Jieba


def _get_segmenter() -> Segmenter:
    """The process's jieba-rs segmenter, its user dictionary loaded on first use (once per process)."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                seg = _new_segmenter()
                path = user_dict_path()
                if path.is_file():
                    added, bad = load_user_dict(seg, path)
                    if bad:
                        log.warning("user dictionary %s: %d words added, %d bad lines skipped (%s)",
                                    path, added, len(bad), "; ".join(bad[:5]))
                _segmenter = seg
    return _segmenter


def segment(text: str) -> list[str]:
    """jieba precise-mode tokens of ``text`` (jieba-rs, HMM on), whitespace tokens dropped. Lone
    surrogates (which jieba-rs cannot take) are cut as spaces."""
    if not text:
        return []
    cut = _get_segmenter().cut
    try:
        words = cut(text)
    except UnicodeEncodeError:
        words = cut(_SURROGATE.sub(" ", text))
    return [w for w in words if not w.isspace()]


def segment_many(texts: Sequence[str]) -> list[list[str]]:
    """``segment`` of each text, in order."""
    return [segment(text) for text in texts]
