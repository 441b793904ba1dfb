"""Measure a model the way the product uses it: through ``Tagger`` (model plus rule tables) on the
held-out examples, reporting accuracy and macro-F1 per task (macro over the labels present in the
held-out data), plus, for relevance, the share marked relevant per origin (news topic, gov_messages).

Sentiment held-out data is binary: a prediction counts as positive when its score is above zero,
whether or not the tagger would call it neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from nlp.classify import Tagger
from nlp.training.datasets import Split
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


def evaluate(
    model: TrainedModel,
    sets: dict[str, Split],
    tasks: Sequence[str],
    *,
    cache: dict[str, tuple[str, list[str]]] | None = None,
) -> dict[str, Any]:
    from nlp.training.train import tokens_of

    tagger = Tagger(model)
    cache = {} if cache is None else cache
    report: dict[str, Any] = {}
    for task in tasks:
        rows = sets[task].held_out if task in sets else []
        if not rows or task not in model.tasks:
            continue
        texts, tokens = tokens_of(rows, cache)
        tags = tagger.tag_many(texts, tokens)
        truth = [ex.label for ex in rows]
        pred = [_predicted(task, t) for t in tags]
        labels = sorted(set(truth))
        entry: dict[str, Any] = {
            "n": len(rows),
            "accuracy": round(float(accuracy_score(truth, pred)), 4),
            "macro_f1": round(
                float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)), 4
            ),
        }
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
                    share = sum(m == relevant for m in marks) / len(marks)
                    entry[name] = round(share, 4)
        report[task] = entry
    return report
