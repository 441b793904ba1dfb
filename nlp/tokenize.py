"""Text cleaning and word segmentation, done once per post; every model reuses the tokens.

``clean_text`` turns whatever a crawler fetched (HTML fragments, entities, control characters,
megabytes of text) into one bounded line of plain text; ``segment`` is jieba's precise mode with the
project's small user dictionary (``nlp/data/user_dict.txt``), initialised once per process: the tokens of
``jieba.lcut``, computed in about 60% of its time (tests/nlp/test_classify_tokenize.py checks they are
the same; bench/nlp.py measures both).
"""

from __future__ import annotations

import html
import logging
import math
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import jieba
from jieba import finalseg

USER_DICT = Path(__file__).resolve().parent / "data" / "user_dict.txt"
DEFAULT_CAP = 20_000

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
_SPACE = re.compile(r"\s+")
# anything clean_text would change besides the cap: markup, entities, control characters, whitespace that
# is not one plain space between words
_DIRTY = re.compile(rf"[{_CONTROL_CHARS}<&]|[^\S ]|  |^ | $")

_ABSENT = object()
_tokenizer: jieba.Tokenizer | None = None
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


class _Tokenizer(jieba.Tokenizer):  # type: ignore[misc]
    """jieba's precise mode with HMM, same dictionary, same models and same tokens, its hot loops made
    leaner (segmentation is most of the nlp stage's time).

    jieba builds the word graph of a block (one dict lookup per fragment), then walks it again to find the
    most probable route (a second lookup and a ``log`` per edge). Here one backward pass does both, with
    each fragment looked up once in a table of the very floats jieba computes (``log(freq) - log(total)``,
    or None for a prefix that is no word). Runs of characters that are no word go to jieba's HMM through
    ``_hmm_cut``. ``prepare()`` after the last change to the dictionary.
    """

    def prepare(self) -> None:
        self.check_initialized()
        self._miss = -math.log(self.total)
        self._scores = {w: math.log(f) + self._miss if f else None for w, f in self.FREQ.items()}

    def _route(self, sentence: str) -> list[int]:
        """``ends[i]``: where the word of the best route that starts at ``i`` ends (exclusive)."""
        n = len(sentence)
        lookup = self._scores.get
        best_score = [0.0] * (n + 1)
        ends = [0] * (n + 1)
        for idx in range(n - 1, -1, -1):
            best = (self._miss + best_score[idx + 1], idx)  # jieba's fallback: the character on its own
            found = False
            i = idx
            score = lookup(sentence[idx], _ABSENT)
            while score is not _ABSENT:
                if score is not None:
                    candidate = (score + best_score[i + 1], i)
                    if not found or candidate > best:
                        best, found = candidate, True
                i += 1
                if i >= n:
                    break
                score = lookup(sentence[idx : i + 1], _ABSENT)
            best_score[idx], ends[idx] = best[0], best[1] + 1
        return ends

    def _Tokenizer__cut_DAG(self, sentence: str) -> Iterator[str]:
        """jieba's ``__cut_DAG`` (this name overrides that private method, which ``cut`` calls for each
        block of Chinese) on ``_route``: runs of single characters that are no word go to the HMM."""
        ends = self._route(sentence)
        x = 0
        buf = ""
        n = len(sentence)
        while x < n:
            y = ends[x]
            if y - x == 1:
                buf += sentence[x]
            else:
                if buf:
                    yield from self._unknown(buf)
                    buf = ""
                yield sentence[x:y]
            x = y
        if buf:
            yield from self._unknown(buf)

    def _unknown(self, buf: str) -> Iterable[str]:
        """A run of single characters as jieba cuts it: one character, the HMM's words, or characters."""
        if len(buf) == 1:
            return buf
        if not self.FREQ.get(buf):
            return _hmm_cut(buf)
        return buf


def _hmm_cut(run: str) -> list[str]:
    """``jieba.finalseg.cut``: the HMM's words in a run of characters jieba's dictionary has no word for
    (names, new words)."""
    words: list[str] = []
    for block in finalseg.re_han.split(run):
        if finalseg.re_han.match(block):
            for word in _hmm_words(block):
                words.extend(word if word in finalseg.Force_Split_Words else (word,))
        else:
            words.extend(x for x in finalseg.re_skip.split(block) if x)
    return words


def _hmm_words(block: str) -> list[str]:
    """The words of a block of Chinese characters by jieba's B/M/E/S HMM: ``finalseg.viterbi`` with its
    four states and two predecessors each written out (the same sums in the same order, ties broken as
    its ``max`` over ``(probability, state)`` breaks them) and back-pointers instead of copied paths."""
    low = finalseg.MIN_FLOAT
    trans, start = finalseg.trans_P, finalseg.start_P
    e_b, e_m, e_s, e_e = (finalseg.emit_P[y].get for y in "BMSE")
    t_eb, t_sb = trans["E"].get("B", low), trans["S"].get("B", low)
    t_mm, t_bm = trans["M"].get("M", low), trans["B"].get("M", low)
    t_ss, t_es = trans["S"].get("S", low), trans["E"].get("S", low)
    t_be, t_me = trans["B"].get("E", low), trans["M"].get("E", low)
    first = block[0]
    v_b, v_m = start["B"] + e_b(first, low), start["M"] + e_m(first, low)
    v_s, v_e = start["S"] + e_s(first, low), start["E"] + e_e(first, low)
    back: list[tuple[str, str, str, str]] = []  # the best previous state of B, M, S, E at each step
    for char in block[1:]:
        em = e_b(char, low)
        a, b = v_e + t_eb + em, v_s + t_sb + em
        n_b, p_b = (a, "E") if a > b else (b, "S")
        em = e_m(char, low)
        a, b = v_m + t_mm + em, v_b + t_bm + em
        n_m, p_m = (a, "M") if a >= b else (b, "B")
        em = e_s(char, low)
        a, b = v_s + t_ss + em, v_e + t_es + em
        n_s, p_s = (a, "S") if a >= b else (b, "E")
        em = e_e(char, low)
        a, b = v_b + t_be + em, v_m + t_me + em
        n_e, p_e = (a, "B") if a > b else (b, "M")
        v_b, v_m, v_s, v_e = n_b, n_m, n_s, n_e
        back.append((p_b, p_m, p_s, p_e))
    state = "S" if v_s >= v_e else "E"
    states = [state]
    for step in reversed(back):
        state = step["BMSE".index(state)]
        states.append(state)
    states.reverse()
    words: list[str] = []
    begin = following = 0
    for i, (char, state) in enumerate(zip(block, states, strict=True)):
        if state == "B":
            begin = i
        elif state == "E":
            words.append(block[begin : i + 1])
            following = i + 1
        elif state == "S":
            words.append(char)
            following = i + 1
    if following < len(block):
        words.append(block[following:])
    return words


def _get_tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tok = _Tokenizer()
                tok.initialize()
                if USER_DICT.is_file():
                    tok.load_userdict(str(USER_DICT))
                tok.prepare()
                _tokenizer = tok
    return _tokenizer


def segment(text: str) -> list[str]:
    """jieba precise-mode tokens of ``text``, whitespace tokens dropped."""
    if not text:
        return []
    return [w for w in _get_tokenizer().lcut(text) if not w.isspace()]
