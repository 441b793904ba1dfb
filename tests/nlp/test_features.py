"""The shared featurizer's fast paths give what the plain constructions give."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nlp.training.features import Featurizer, _counts


def test_counts_equal_scipys_duplicate_summing() -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 50, 5000)
    cols = rng.integers(0, 3000, 5000)
    rows[:100] = 49  # a row with many entries, and rows with none
    rows[rows == 3] = 4
    ours = _counts(rows, cols, 52, 3000)
    plain = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(52, 3000))
    plain.sum_duplicates()
    assert ours.has_sorted_indices
    assert np.array_equal(ours.indptr, plain.indptr)
    assert np.array_equal(ours.indices, plain.indices)
    assert np.array_equal(ours.data, plain.data)
    assert _counts(np.zeros(0, np.int64), np.zeros(0, np.int64), 3, 10).shape == (3, 10)


def test_words_are_each_tokens_own_lower_case() -> None:
    tokens = ["ΑΣ", "Σ", "ΣΑ", "İstanbul", "ǅ", "PM2.5", "Tesla", "，", " ", "哈哈", "ß", "Σ"]
    text = "".join(tokens) + "[哈哈]"
    chars, words = Featurizer().streams(text, tokens)
    assert words == [t.lower() for t in tokens if t.isalnum()] + ["[哈哈]"]
    assert chars == "".join(tokens).replace(" ", "").lower()
    assert Featurizer().streams("", []) == ("", [])
    assert Featurizer().streams("，。", ["，", "。"]) == ("，。", [])
