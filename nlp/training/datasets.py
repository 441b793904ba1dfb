"""Labeled examples for the four tasks, read from TSV / JSONL files and officers' label corrections.

File formats (UTF-8):

* TSV with a header row: ``label<TAB>text``, ``label<TAB>tokens`` (pre-segmented, space separated) or
  ``task<TAB>label<TAB>text``. Without a task column the task comes from the folder name of the shared
  sets (gov_messages, weibo_sentiment, weibo_emotion, news_titles) or else from the labels themselves.
* JSONL: one object per line with ``label`` and ``text`` (or ``tokens``), optionally ``task``.

Labels are normalised per task: sentiment ``1``/``0`` -> positive/negative; news_titles topics ->
relevant/noise for the relevance task (see ``NEWS_TOPIC_RELEVANCE``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, inspect, select

from yuqing.taxonomy import CATEGORIES

TASKS: tuple[str, ...] = ("relevance", "category", "sentiment", "emotion")
EMOTIONS = ("happy", "angry", "sad", "neutral", "fear", "surprise")
RELEVANCE = ("relevant", "noise")
SENTIMENT_LABELS = {"1": "positive", "0": "negative", "positive": "positive", "negative": "negative"}

# news_titles topics: the entertainment side is noise; stocks are left out (market chatter is rarely a
# government matter, securities regulation sometimes is: too mixed to label either way).
NEWS_TOPIC_RELEVANCE = {
    "politics": "relevant",
    "society": "relevant",
    "education": "relevant",
    "finance": "relevant",
    "realty": "relevant",
    "science": "relevant",
    "sports": "noise",
    "game": "noise",
    "entertainment": "noise",
}
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HELD_OUT_SHARE = 0.2
SPLIT_SEED = 20261123


class DatasetError(ValueError):
    """A data file cannot be read as labeled examples; the message says which and why."""


@dataclass(frozen=True)
class Example:
    task: str
    label: str
    text: str
    tokens: tuple[str, ...] | None = None  # given when the source is pre-segmented
    origin: str = ""  # the label as the file gave it (news topic, 0/1 …), for per-origin figures


@dataclass
class Split:
    """Examples of one task for training and for held-out evaluation.

    ``dev`` holds the rows of ``dev_raw.tsv`` files: raw-text rows kept out of the 80/20 split, never
    trained on, evaluated like ``held_out``.
    """

    train: list[Example] = field(default_factory=list)
    held_out: list[Example] = field(default_factory=list)
    dev: list[Example] = field(default_factory=list)


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    rows: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_label(task: str, label: str) -> str | None:
    """The canonical label of ``label`` for ``task``, or None when it is not one of the task's labels."""
    label = label.strip()
    if task == "sentiment":
        return SENTIMENT_LABELS.get(label.lower())
    if task == "emotion":
        return label.lower() if label.lower() in EMOTIONS else None
    if task == "category":
        return label if label in CATEGORIES else None
    if task == "relevance":
        low = label.lower()
        if low in NEWS_TOPIC_RELEVANCE:
            return NEWS_TOPIC_RELEVANCE[low]
        if low in ("relevant", "1", "true", "yes"):
            return "relevant"
        if low in ("noise", "irrelevant", "0", "false", "no"):
            return "noise"
    return None


def _guess_task(path: Path, labels: Iterable[str]) -> str:
    for parent in (path.parent.name, path.stem):
        known = {
            "gov_messages": "category",
            "weibo_sentiment": "sentiment",
            "weibo_emotion": "emotion",
            "news_titles": "relevance",
        }.get(parent)
        if known:
            return known
    label_set = {lab.strip() for lab in labels}
    for task in ("category", "emotion", "relevance", "sentiment"):
        if label_set and all(normalise_label(task, lab) for lab in label_set):
            return task
    raise DatasetError(f"{path}: cannot tell the task from labels {sorted(label_set)[:5]}; add a task column")


def _make(task: str, label: str, body: str, pre_segmented: bool, where: str) -> Example | None:
    norm = normalise_label(task, label)
    if norm is None:
        if task == "relevance" and label.strip().lower() == "stocks":
            return None
        raise DatasetError(f"{where}: label {label!r} is not a {task} label")
    if pre_segmented:
        tokens = tuple(body.split())
        return Example(task, norm, "".join(tokens), tokens, label.strip())
    return Example(task, norm, body, None, label.strip())


def read_tsv(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if header[:2] == ["task", "label"] and len(header) >= 3:
        return [
            ex
            for i, r in enumerate(rows[1:], 2)
            if len(r) >= 3 and (ex := _make(r[0], r[1], r[2], header[2] == "tokens", f"{path}:{i}"))
        ]
    if len(header) < 2 or header[0] != "label" or header[1] not in ("text", "tokens"):
        raise DatasetError(
            f"{path}: header must be label<TAB>text, label<TAB>tokens or task<TAB>label<TAB>text"
        )
    body_rows = [r for r in rows[1:] if len(r) >= 2]
    task = _guess_task(path, (r[0] for r in body_rows))
    pre = header[1] == "tokens"
    return [ex for i, r in enumerate(body_rows, 2) if (ex := _make(task, r[0], r[1], pre, f"{path}:{i}"))]


def read_jsonl(path: Path, default_task: str | None = None) -> list[Example]:
    examples: list[Example] = []
    rows: list[tuple[int, dict[str, object]]] = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{i}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or "label" not in obj or not ("text" in obj or "tokens" in obj):
                raise DatasetError(f"{path}:{i}: need an object with label and text (or tokens)")
            rows.append((i, obj))
    untasked = [str(o["label"]) for _, o in rows if "task" not in o]
    guessed = default_task or (_guess_task(path, untasked) if untasked else None)
    for i, obj in rows:
        task = str(obj.get("task") or guessed)
        tokens = obj.get("tokens")
        body = " ".join(map(str, tokens)) if isinstance(tokens, list) else str(obj.get("text", ""))
        ex = _make(task, str(obj["label"]), body, isinstance(tokens, list), f"{path}:{i}")
        if ex:
            examples.append(ex)
    return examples


def read_file(path: Path) -> list[Example]:
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    if path.suffix in (".tsv", ".txt"):
        return read_tsv(path)
    raise DatasetError(f"{path}: use .tsv or .jsonl files")


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files named, and the .tsv / .jsonl files inside folders named (recursively, sorted)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".tsv", ".jsonl")))
        elif p.is_file():
            files.append(p)
        else:
            raise DatasetError(f"{p}: no such file or folder")
    return files


def _is_evaluation_file(path: Path) -> bool:
    """gov_messages/dev_raw.tsv is kept for evaluation; the taxonomy is not labeled data."""
    return path.name in ("dev_raw.tsv", "taxonomy.tsv")


def split(examples: list[Example], share: float = HELD_OUT_SHARE, seed: int = SPLIT_SEED) -> Split:
    """A deterministic stratified split: the same file always gives the same held-out rows."""
    by_label: dict[str, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    out = Split()
    rng = random.Random(seed)
    for label in sorted(by_label):
        rows = by_label[label]
        order = list(range(len(rows)))
        rng.shuffle(order)
        cut = round(len(rows) * share)
        out.held_out.extend(rows[i] for i in order[:cut])
        out.train.extend(rows[i] for i in order[cut:])
    return out


def load_sets(paths: Sequence[Path]) -> tuple[dict[str, Split], list[SourceFile]]:
    """Every task's train and held-out examples from ``paths``, and what was read (with hashes).

    Files named ``dev_raw.tsv`` go whole to ``dev`` (and, as relevant examples, to relevance's held-out
    rows) and the other files beside them are used whole for training; other files are split 80/20 per
    label. Category training rows also count as relevant examples for relevance.
    """
    sets: dict[str, Split] = {task: Split() for task in TASKS}
    sources: list[SourceFile] = []
    files = expand(paths)
    folders_with_dev = {p.parent for p in files if p.name == "dev_raw.tsv"}
    for path in files:
        if path.name == "taxonomy.tsv":
            continue
        examples = read_file(path)
        sources.append(SourceFile(str(path), file_sha256(path), len(examples)))
        by_task: dict[str, list[Example]] = {}
        for ex in examples:
            by_task.setdefault(ex.task, []).append(ex)
        for task, rows in by_task.items():
            if _is_evaluation_file(path):
                sets[task].dev.extend(rows)
                if task == "category":
                    sets["relevance"].held_out.extend(
                        Example("relevance", "relevant", ex.text, ex.tokens, "gov_messages") for ex in rows
                    )
                continue
            parts = Split(train=rows) if path.parent in folders_with_dev else split(rows)
            sets[task].train.extend(parts.train)
            sets[task].held_out.extend(parts.held_out)
            if task == "category":
                sets["relevance"].train.extend(
                    Example("relevance", "relevant", ex.text, ex.tokens, "gov_messages") for ex in parts.train
                )
    return sets, sources


def default_paths() -> list[Path]:
    return [
        SHARED_DATA / name for name in ("gov_messages", "weibo_sentiment", "weibo_emotion", "news_titles")
    ]


def load_corrections(engine: Engine) -> tuple[list[Example], SourceFile | None]:
    """Officers' label corrections (table ``label_corrections``) as training examples: the latest
    correction per post and task wins; labels that are not labels of their task are skipped."""
    from yuqing.db.models import LabelCorrection

    if not inspect(engine).has_table(LabelCorrection.__tablename__):
        return [], None
    query = select(LabelCorrection.post_id, LabelCorrection.task, LabelCorrection.label, LabelCorrection.text)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(LabelCorrection.created_at, LabelCorrection.id)).all()
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for post_id, task, label, text in rows:
        latest[(post_id, task)] = (label, text)
    examples = []
    digest = hashlib.sha256()
    for (post_id, task), (label, text) in sorted(latest.items()):
        norm = normalise_label(task, label) if task in TASKS else None
        if norm is None or not text:
            continue
        examples.append(Example(task, norm, text, None, "label_corrections"))
        digest.update(f"{post_id}\t{task}\t{norm}\t{text}\n".encode())
    return examples, SourceFile("db:label_corrections", digest.hexdigest(), len(examples))


def add_training_examples(sets: dict[str, Split], examples: Sequence[Example]) -> None:
    """Add examples (e.g. corrections) to the training side only; category ones also count as relevant."""
    for ex in examples:
        sets[ex.task].train.append(ex)
        if ex.task == "category":
            sets["relevance"].train.append(Example("relevance", "relevant", ex.text, ex.tokens, ex.origin))


def subsample(sets: dict[str, Split], per_label: int, seed: int = SPLIT_SEED) -> dict[str, Split]:
    """At most ``per_label`` training and ``per_label // 2`` held-out and dev examples per label (for fast
    runs)."""

    def cut(rows: list[Example], n: int) -> list[Example]:
        rng = random.Random(seed)
        by_label: dict[str, list[Example]] = {}
        for ex in rows:
            by_label.setdefault(ex.label, []).append(ex)
        kept: list[Example] = []
        for label in sorted(by_label):
            group = by_label[label]
            kept.extend(rng.sample(group, min(n, len(group))))
        return kept

    n = max(1, per_label // 2)
    return {t: Split(cut(s.train, per_label), cut(s.held_out, n), cut(s.dev, n)) for t, s in sets.items()}
