"""One feature extraction shared by every task: hashed character 1–3-grams of the text and hashed
words (jieba tokens, segmented once upstream), weighted by a sublinear TF-IDF fitted at training time.

Hashing keeps the model file free of vocabularies; the only fitted part is the IDF vector. The hashing
is done for a whole batch at once with numpy (polynomial hashes of Unicode code points, then a
multiplicative hash into the buckets), which is several times faster than a per-string analyzer and is
what lets tagging keep up with segmentation. Words are the tokens with a letter or digit (punctuation
and whitespace dropped), lower-cased, plus Weibo ``[表情]`` emoticons. Pre-segmented training text
(gov_messages, whose stopwords were removed at the source) is used as is: removing the same stopwords
from raw text was tried and scored lower on every task.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nlp.tokenize import clean_text, segment
from nlp.training.datasets import Example

CHAR_NGRAMS = (1, 2, 3)
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")
_P = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xD6E8FEB86659FD93)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _buckets(hashes: np.ndarray, bits: int) -> np.ndarray:
    return ((hashes * _MIX) >> np.uint64(64 - bits)).astype(np.int64)


def _counts(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """Counts of the (row, col) pairs as a float32 CSR matrix with sorted indices, built in one sort of
    the pairs' keys (no COO conversion, no separate duplicate summing)."""
    keys, counts = np.unique(rows * np.int64(n_cols) + cols, return_counts=True)
    row_of = keys // n_cols
    indptr = np.searchsorted(row_of, np.arange(n_rows + 1, dtype=np.int64))
    index = np.int32 if len(keys) < np.iinfo(np.int32).max and n_cols < np.iinfo(np.int32).max else np.int64
    return sp.csr_matrix(
        (counts.astype(np.float32), (keys - row_of * n_cols).astype(index), indptr.astype(index)),
        shape=(n_rows, n_cols),
    )


def _char_ngram_pairs(streams: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(document, bucket) of every character 1..3-gram of each string."""
    lengths = np.fromiter(map(len, streams), dtype=np.int64, count=len(streams))
    codes = _code_points("".join(streams))
    doc = np.repeat(np.arange(len(streams), dtype=np.int64), lengths)
    rows, cols = [], []
    rolling = np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in CHAR_NGRAMS:
            rolling = codes + np.uint64(1) if n == 1 else rolling[:-1] * _P + codes[n - 1 :] + np.uint64(1)
            same_doc = doc[: len(rolling)] == doc[n - 1 :]
            rows.append(doc[: len(rolling)][same_doc])
            cols.append(_buckets(rolling[same_doc] ^ (_SALT * np.uint64(n)), bits))
    return np.concatenate(rows), np.concatenate(cols)


def _word_pairs(words: Sequence[Sequence[str]], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(document, bucket) of every word of each document."""
    flat = [w for doc in words for w in doc]
    doc_of_word = np.repeat(np.arange(len(words), dtype=np.int64), [len(d) for d in words])
    lengths = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    codes = _code_points("".join(flat))
    with np.errstate(over="ignore"):
        one = np.ones(1, dtype=np.uint64)
        powers = np.concatenate([one, np.cumprod(np.full(len(codes), _P, dtype=np.uint64))])
        inverse = np.concatenate([one, np.cumprod(np.full(len(codes), _P_INV, dtype=np.uint64))])
        weighted = (codes + np.uint64(1)) * powers[:-1]
        prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(weighted)])
        # sum of code * P**position over the word, moved to position 0
        hashes = (prefix[ends] - prefix[starts]) * inverse[starts] + lengths.astype(np.uint64) * _SALT
    return doc_of_word, _buckets(hashes, bits)


def hash_char_ngrams(streams: Sequence[str], bits: int) -> sp.csr_matrix:
    """Counts of the character 1..3-grams of each string, hashed into 2**bits columns."""
    return _counts(*_char_ngram_pairs(streams, bits), len(streams), 1 << bits)


def hash_words(words: Sequence[Sequence[str]], bits: int) -> sp.csr_matrix:
    """Counts of each document's words, hashed into 2**bits columns."""
    return _counts(*_word_pairs(words, bits), len(words), 1 << bits)


_SEP = "\uffff"  # a noncharacter: joins one text's words so they are lower-cased in one call


@dataclass
class Featurizer:
    char_bits: int = 19
    word_bits: int = 18
    idf: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return (1 << self.char_bits) + (1 << self.word_bits)

    def streams(self, text: str, tokens: Sequence[str]) -> tuple[str, list[str]]:
        """The character stream and the word list the hashing sees for one text: the tokens with a letter
        or digit, lower-cased, plus the text's Weibo emoticons."""
        # _SEP is no letter or digit, so no kept token holds it; it is not cased either, so lower-casing
        # the joined words gives each word's own lower case (final sigma included)
        kept = _SEP.join(filter(str.isalnum, tokens))
        words = kept.lower().split(_SEP) if kept else []
        if "[" in text:
            words.extend(_EMOTICON.findall(text))
        return "".join(tokens).replace(" ", "").lower(), words

    def counts(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Character n-gram counts in the first 2**char_bits columns, word counts after them: one
        matrix from one pass over all the (row, column) pairs."""
        pairs = [self.streams(t, toks) for t, toks in zip(texts, tokens, strict=True)]
        char_rows, char_cols = _char_ngram_pairs([p[0] for p in pairs], self.char_bits)
        word_rows, word_cols = _word_pairs([p[1] for p in pairs], self.word_bits)
        return _counts(
            np.concatenate([char_rows, word_rows]),
            np.concatenate([char_cols, word_cols + (1 << self.char_bits)]),
            len(pairs),
            self.n_features,
        )

    def fit(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Fit the IDF (smoothed, as scikit-learn's) on these texts and return their features."""
        counts = self.counts(texts, tokens)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
        return self._weigh(counts)

    def transform(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Sublinear TF-IDF rows, L2-normalised."""
        return self._weigh(self.counts(texts, tokens))

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        if self.idf is None:
            raise RuntimeError("Featurizer.transform before fit")
        x = counts.astype(np.float32)
        x.data = (np.log(x.data) + 1) * self.idf[x.indices]
        squares = sp.csr_matrix((x.data**2, x.indices, x.indptr), shape=x.shape)
        norms = np.sqrt(np.asarray(squares.sum(axis=1)).ravel())
        x.data /= np.repeat(np.maximum(norms, 1e-12), np.diff(x.indptr)).astype(np.float32)
        return x


def tokens_of(
    examples: Sequence[Example], cache: dict[str, tuple[str, list[str]]]
) -> tuple[list[str], list[list[str]]]:
    """Clean text and tokens of each example (given tokens when pre-segmented, else jieba), cached by text."""
    texts, tokens = [], []
    for ex in examples:
        if ex.tokens is not None:
            texts.append(ex.text)
            tokens.append(list(ex.tokens))
            continue
        hit = cache.get(ex.text)
        if hit is None:
            clean, _ = clean_text(ex.text)
            hit = cache[ex.text] = (clean, segment(clean))
        texts.append(hit[0])
        tokens.append(hit[1])
    return texts, tokens
