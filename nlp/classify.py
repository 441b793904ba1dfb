"""Text -> Tags: relevance, category (+ second level and department type), sentiment, emotion and
severity, from one shared feature extraction over the clean text and its jieba tokens.

The trained part is a model file (``nlp.training.modelfile``); the rule parts are data in ``nlp/data``
and ``yuqing/data`` (the taxonomy, ``yuqing.taxonomy``): the taxonomy keywords decide second levels and
the categories the labeled data does not cover, ``relevance.yaml`` marks advertising as noise and serious
emergencies as relevant, ``severity.yaml`` grades emergencies. Locations are left empty here
(``nlp.location`` fills them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np
import yaml

from nlp.severity import assess, responsible_type
from nlp.training import modelfile
from yuqing.schemas import Sentiment, SentimentLabel, Severity, Tags, severity_rank
from yuqing.taxonomy import Taxonomy, load_taxonomy

RELEVANCE_RULES = Path(__file__).resolve().parent / "data" / "relevance.yaml"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Sentiment is trained on positive/negative Weibo posts; its score is P(positive) - P(negative). The label
# also weighs the emotion model (trained on more, and more varied, posts): unless the sentiment model is
# sure (|score| >= EMOTION_OVERRIDE_MARGIN), an angry/sad/fearful post is negative, a happy one positive
# and a neutral one neutral; otherwise a post is neutral when |score| < NEUTRAL_MARGIN.
NEUTRAL_MARGIN = 0.2
EMOTION_OVERRIDE_MARGIN = 0.6
EMOTION_SENTIMENT: dict[str, SentimentLabel] = {
    "angry": "negative",
    "sad": "negative",
    "fear": "negative",
    "happy": "positive",
    "neutral": "neutral",
}
# A category without labeled data replaces the model's choice when its keywords win by this much and
# the model is not confident.
# (Set so that on gov_messages/dev_raw, which only has the seven covered categories, the fallback moves
# under 1% of the messages: it can only take predictions away from the covered categories there.)
FALLBACK_MIN_HITS = 3
FALLBACK_MAX_MODEL_PROBABILITY = 0.3


def _automaton(words: dict[str, Any]) -> ahocorasick.Automaton | None:
    """An Aho–Corasick automaton over ``words`` (value = payload); None when there are no words."""
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, payload in words.items():
        automaton.add_word(word, payload)
    automaton.make_automaton()
    return automaton


def _found(automaton: ahocorasick.Automaton | None, text: str) -> set[Any]:
    return {payload for _, payload in automaton.iter(text)} if automaton is not None and text else set()


@dataclass(frozen=True)
class _KeywordIndex:
    automaton: ahocorasick.Automaton | None  # keyword -> its number in ``owners``
    owners: tuple[tuple[tuple[str, str], ...], ...]  # per keyword number: its (category, subcategory) pairs

    @classmethod
    def build(cls, taxonomy: Taxonomy) -> _KeywordIndex:
        owners: dict[str, list[tuple[str, str]]] = {}
        for pair, words in taxonomy.keywords.items():
            for w in words:
                owners.setdefault(w.lower(), []).append(pair)
        # small ints as payloads: the distinct keywords of a text are a set of ints, cheap to hash
        return cls(_automaton({w: k for k, w in enumerate(owners)}), tuple(map(tuple, owners.values())))

    def hits(self, text: str) -> dict[tuple[str, str], int]:
        """Distinct keywords found per (category, subcategory)."""
        counts: dict[tuple[str, str], int] = {}
        owners = self.owners
        for k in _found(self.automaton, text.lower()):
            for pair in owners[k]:
                counts[pair] = counts.get(pair, 0) + 1
        return counts


@lru_cache(maxsize=1)
def _relevance_rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(RELEVANCE_RULES.read_text(encoding="utf-8"))
    rules["ad_automaton"] = _automaton({w: w for w in rules["ad_words"]})
    return rules


def has_chinese(text: str) -> bool:
    return _CJK.search(text) is not None


class Tagger:
    """Applies a trained model file plus the rule tables to texts."""

    def __init__(self, model: modelfile.TrainedModel, taxonomy: Taxonomy | None = None) -> None:
        self.model = model
        self.taxonomy = taxonomy or load_taxonomy()
        self._keywords = _KeywordIndex.build(self.taxonomy)
        self._rules = _relevance_rules()
        self._relevant_rank = severity_rank(self._rules["relevant_from_severity"])
        # every task's weights side by side: one sparse x dense product scores all tasks at once
        blocks, intercepts, self._slices = [], [], {}
        start = 0
        for name, task in model.tasks.items():
            w, b = task.weights()
            blocks.append(w)
            intercepts.append(b)
            self._slices[name] = slice(start, start + w.shape[1])
            start += w.shape[1]
        if not blocks:
            raise modelfile.ModelFileError(f"model {model.version} has no task models")
        self._weights = np.hstack(blocks)
        self._intercepts = np.concatenate(intercepts)
        self._classes = {name: task.classes for name, task in model.tasks.items()}

    @classmethod
    def load(cls, path: Path | None = None) -> Tagger:
        """The model file at ``path``; None => the shipped baseline in nlp/models/."""
        return cls(modelfile.load(path))

    @property
    def version(self) -> str:
        return self.model.version

    def tag(self, text: str, tokens: list[str]) -> Tags:
        return self.tag_many([text], [tokens])[0]

    def tag_many(self, texts: list[str], tokens: list[list[str]]) -> list[Tags]:
        """Tags for each text (already cleaned) with its tokens (already segmented), in order.

        One sparse feature pass for the batch, one product with every task's weights side by side; each
        task's probabilities are then reduced in numpy to the few numbers the rules read per post (the
        relevant probability, the arg-max and its probability, the sentiment score), one column list
        each, so the per-post step touches plain floats and strings, no probability rows or dicts."""
        if len(texts) != len(tokens):
            raise ValueError("tag_many: texts and tokens differ in length")
        live = [i for i, t in enumerate(texts) if has_chinese(t)]
        out: list[Tags] = [None] * len(texts)  # type: ignore[list-item] # every slot is filled below
        if len(live) < len(texts):
            for i in set(range(len(texts))).difference(live):
                out[i] = self._no_chinese()
        if not live:
            return out
        feats = self.model.featurizer.transform([texts[i] for i in live], [tokens[i] for i in live])
        margins = np.asarray(feats @ self._weights) + self._intercepts
        n = len(live)
        columns: dict[str, list[Any]] = {}
        for name, task in self.model.tasks.items():
            p = task.probabilities_from_margins(margins[:, self._slices[name]])
            classes = self._classes[name]
            if name == "relevance":
                columns["relevance"] = p[:, classes.index("relevant")].tolist()
            elif name == "sentiment":
                score = p[:, classes.index("positive")] - p[:, classes.index("negative")]
                columns["sentiment"] = score.tolist()
            else:
                best = p.argmax(axis=1)  # the first of equal maxima, as list.index(max(row))
                columns[name] = [classes[k] for k in best.tolist()]
                columns[f"{name}_p"] = p[np.arange(n), best].tolist()
        none = [None] * n
        decide = self._decide
        for row, i in enumerate(live):
            out[i] = decide(
                texts[i],
                columns.get("relevance", none)[row],
                columns.get("category", none)[row],
                columns.get("category_p", none)[row],
                columns.get("emotion", none)[row],
                columns.get("sentiment", none)[row],
            )
        return out

    def _no_chinese(self) -> Tags:
        """Empty, emoji-only or foreign-language text: nothing the Chinese models can judge."""
        return Tags(relevant=False, relevance_score=0.0, severity=Severity(), model_version=self.version)

    def _decide(
        self,
        text: str,
        relevant_p: float | None,
        category: str | None,
        category_p: float | None,
        emotion: str | None,
        sentiment_score: float | None,
    ) -> Tags:
        severity = assess(text)
        relevant, relevance_score = self._relevance(text, relevant_p, severity)
        category, subcategory = self._category(text, category, category_p or 0.0)
        return Tags(
            relevant=relevant,
            relevance_score=round(relevance_score, 4),
            category=category,
            subcategory=subcategory,
            # an emergency is answered by its own department type first (谁主管谁负责), else the category's
            department_type=(responsible_type(severity) if severity.triggers else None)
            or self.taxonomy.department_for(category, subcategory),
            sentiment=self._sentiment(sentiment_score, emotion),
            emotion=emotion,
            severity=severity,
            model_version=self.version,
        )

    def _relevance(self, text: str, p: float | None, severity: Severity) -> tuple[bool, float]:
        """``p``: the relevance model's P(relevant), None without a relevance model."""
        if p is None:
            return True, 1.0
        # a score on the usual 0.5 scale: the cut chosen at training maps to 0.5
        cut = self.model.tasks["relevance"].threshold or 0.5
        score = 0.5 * p / cut if p < cut else 0.5 + 0.5 * (p - cut) / (1 - cut)
        ads = _found(self._rules["ad_automaton"], text)
        if len(ads) >= self._rules["ad_min_hits"]:
            score = min(score, 0.1)
        if severity_rank(severity.level) >= self._relevant_rank:
            score = max(score, 0.9)
        return score >= 0.5, score

    def _category(
        self, text: str, category: str | None, confidence: float
    ) -> tuple[str | None, str | None]:
        """``category``: the model's arg-max (None without a category model), ``confidence`` its
        probability."""
        hits = self._keywords.hits(text)
        by_category: dict[str, int] = {}
        for (cat, _sub), n in hits.items():
            by_category[cat] = by_category.get(cat, 0) + n
        covered = set(self._classes.get("category", ()))
        uncovered = [(n, c) for c, n in by_category.items() if c not in covered]
        if uncovered:
            n, cat = max(uncovered)
            own = by_category.get(category or "", 0)
            if n >= FALLBACK_MIN_HITS and n > own and confidence < FALLBACK_MAX_MODEL_PROBABILITY:
                category = cat
        if category is None:
            return None, None
        subs = [(n, sub) for (cat, sub), n in hits.items() if cat == category]
        if not subs:
            return category, None
        order = self.taxonomy.subcategories[category]
        best = max(subs, key=lambda s: (s[0], -order.index(s[1])))
        return category, best[1]

    @staticmethod
    def _sentiment(score: float | None, emotion: str | None) -> Sentiment:
        """``score``: P(positive) - P(negative) of the sentiment model, None without one."""
        if score is None:
            return Sentiment()
        label: SentimentLabel
        if emotion in EMOTION_SENTIMENT and abs(score) < EMOTION_OVERRIDE_MARGIN:
            label = EMOTION_SENTIMENT[emotion]
        elif abs(score) < NEUTRAL_MARGIN:
            label = "neutral"
        else:
            label = "positive" if score > 0 else "negative"
        return Sentiment(label=label, score=round(score, 4))
