"""Measure a model the way the product uses it: through ``Tagger`` (model plus rule tables) on the
held-out examples, reporting accuracy and macro-F1 per task (macro over the labels present in the
held-out data), plus, for relevance, the share marked relevant per origin (news topic, gov_messages).

Sentiment held-out data is binary: a prediction counts as positive when its score is above zero,
whether or not the tagger would call it neutral. ``label_accuracy`` is printed beside it: how often the
tagger's three-way ``sentiment.label`` (which says neutral, or follows the emotion model, when the
sentiment model is unsure) equals the binary label.

The dev rows (gov_messages/dev_raw.tsv for category) are never trained on and are measured with the
held-out rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from nlp.classify import Tagger
from nlp.training.datasets import Example, Split
from nlp.training.features import tokens_of
from nlp.training.modelfile import TrainedModel
from yuqing.schemas import Tags

# The relevance targets: news topics that must be noise, and ones that must stay relevant.
TARGET_GROUPS = (
    ("noise_topics_marked_not_relevant", ("sports", "game", "entertainment"), False),
    ("politics_society_marked_relevant", ("politics", "society"), True),
)


def _predicted(task: str, tags: Tags) -> str:
    if task == "relevance":
        return "relevant" if tags.relevant else "noise"
    if task == "category":
        return tags.category or ""
    if task == "sentiment":
        return "positive" if tags.sentiment.score > 0 else "negative"
    return tags.emotion or ""


def tag_rows(tagger: Tagger, rows: Sequence[Example], cache: dict[str, tuple[str, list[str]]]) -> list[Tags]:
    texts, tokens = tokens_of(rows, cache)
    return tagger.tag_many(texts, tokens)


def measure(task: str, rows: Sequence[Example], tags: Sequence[Tags]) -> dict[str, Any]:
    """Accuracy and macro-F1 of ``tags`` against ``rows``' labels (plus relevance's shares)."""
    truth = [ex.label for ex in rows]
    pred = [_predicted(task, t) for t in tags]
    labels = sorted(set(truth))
    entry: dict[str, Any] = {
        "n": len(rows),
        "accuracy": round(float(accuracy_score(truth, pred)), 4),
        "macro_f1": round(float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)), 4),
    }
    if task == "sentiment":
        same = sum(t.sentiment.label == label for t, label in zip(tags, truth, strict=True))
        entry["label_accuracy"] = round(same / len(rows), 4)
    if task == "relevance":
        by_origin: dict[str, list[bool]] = {}
        for ex, t in zip(rows, tags, strict=True):
            by_origin.setdefault(ex.origin or ex.label, []).append(t.relevant)
        entry["relevant_share_by_origin"] = {
            o: round(sum(v) / len(v), 4) for o, v in sorted(by_origin.items())
        }
        for name, origins, relevant in TARGET_GROUPS:
            marks = [m for o in origins for m in by_origin.get(o, [])]
            if marks:
                entry[name] = round(sum(m == relevant for m in marks) / len(marks), 4)
    return entry


def evaluate(
    model: TrainedModel,
    sets: dict[str, Split],
    tasks: Sequence[str],
    *,
    cache: dict[str, tuple[str, list[str]]] | None = None,
) -> dict[str, Any]:
    tagger = Tagger(model)
    cache = {} if cache is None else cache
    report: dict[str, Any] = {}
    for task in tasks:
        if task not in sets or task not in model.tasks:
            continue
        rows = sets[task].held_out + sets[task].dev
        if rows:
            report[task] = measure(task, rows, tag_rows(tagger, rows, cache))
    return report
