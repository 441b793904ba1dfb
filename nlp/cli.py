"""Sub-commands of this domain for the ``yuqing`` command line: ``yuqing nlp classify | train | evaluate``."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from yuqing.safe_input import JsonLimitError, loads_bounded, valid_unicode, valid_unicode_deep

nlp_app = typer.Typer(
    help="Tag texts (relevance, category, sentiment, emotion, severity, place).", no_args_is_help=True
)

_ID_IN_BROKEN_JSON = re.compile(r'"id"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+))')


class LineError(ValueError):
    """One input line cannot be classified; the message says why."""


MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_LINE_DEPTH = 32


def _parse(line: str) -> tuple[Any, str, str | None, int]:
    """(id, text, source region, invalid characters replaced) of one input line."""
    try:
        obj = loads_bounded(line, max_bytes=MAX_LINE_BYTES, max_depth=MAX_LINE_DEPTH)
    except JsonLimitError as exc:  # not JSON, too large, or nested too deeply (a 100,000-deep array)
        raise LineError(str(exc)) from None
    # lone surrogates (\ud800) cannot be written out: replaced at the door, the line is still classified
    obj, replaced = valid_unicode_deep(obj, nul=False) if isinstance(obj, dict) else (obj, 0)
    if not isinstance(obj, dict):
        raise LineError("expected a JSON object with id and text")
    text = obj.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise LineError("text must be a string")
    region = obj.get("region")
    return obj.get("id"), text, region if isinstance(region, str) else None, replaced


def _salvage_id(line: str) -> Any:
    m = _ID_IN_BROKEN_JSON.search(line)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else int(m.group(2))


def _load_gazetteer() -> Any:
    """nlp.location.Gazetteer when that module exists, else None (locations stay empty)."""
    try:
        from nlp.location import Gazetteer
    except ImportError:
        return None
    return Gazetteer.load()


def _batches(lines: Iterable[bytes], size: int) -> Iterator[list[tuple[int, str]]]:
    """Batches of (line number, text) of the non-empty lines."""
    it = enumerate(lines, start=1)
    while batch := list(islice(it, size)):
        decoded = ((n, b.decode("utf-8", errors="replace").strip()) for n, b in batch)
        if kept := [(n, s) for n, s in decoded if s]:
            yield kept


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(valid_unicode_deep(record)[0], ensure_ascii=False)


def _tag_all(tagger: Any, good: list[tuple[Any, ...]]) -> list[Any]:
    """Tags for the parsed lines; when the batch fails, line by line, so one line cannot fail the others
    (a line that fails alone gets its exception instead of tags)."""
    try:
        return list(tagger.tag_many([p[1] for p in good], [p[4] for p in good]))
    except Exception:  # noqa: BLE001 - retried one by one below
        out: list[Any] = []
        for p in good:
            try:
                out.extend(tagger.tag_many([p[1]], [p[4]]))
            except Exception as exc:  # noqa: BLE001 - this line gets an error line
                out.append(exc)
        return out


def classify_stream(
    lines: Iterable[bytes], out: IO[str], err: IO[str], *, tagger: Any, gazetteer: Any, batch_size: int = 64
) -> int:
    """Classify JSON lines ``{"id", "text"[, "region"]}``; write one JSON line per input line, in order.
    Returns the number of lines that could not be classified (each got an ``error`` line)."""
    from nlp.tokenize import clean_text, segment

    failures = 0

    def fail(number: int, line: str, ident: Any, reason: str) -> None:
        nonlocal failures
        failures += 1
        ident = valid_unicode_deep(ident)[0]
        err.write(f"yuqing nlp classify: line {number} with id {ident!r}: {valid_unicode(reason)[0]}\n")
        out.write(_dumps({"id": ident, "line": number, "error": reason}) + "\n")

    for batch in _batches(lines, batch_size):
        parsed: list[tuple[Any, str, str | None, bool, list[str]] | LineError] = []
        for number, line in batch:
            try:
                ident, text, region, replaced = _parse(line)
                if replaced:
                    err.write(f"yuqing nlp classify: line {number} with id {ident!r}: {replaced} lone "
                              "surrogate(s) replaced with U+FFFD; classified\n")
                clean, truncated = clean_text(text)
                parsed.append((ident, clean, region, truncated, segment(clean)))
            except LineError as exc:
                parsed.append(exc)
            except Exception as exc:  # noqa: BLE001 - one bad line never ends the run
                parsed.append(LineError(f"cannot read this line: {type(exc).__name__}: {exc}"))
        good = [p for p in parsed if not isinstance(p, LineError)]
        tags = iter(_tag_all(tagger, good))
        for (number, line), item in zip(batch, parsed, strict=True):
            if isinstance(item, LineError):
                fail(number, line, _salvage_id(line), str(item))
                continue
            ident, clean, region, truncated, tokens = item
            t = next(tags)
            if isinstance(t, Exception):
                fail(number, line, ident, f"cannot classify: {type(t).__name__}: {t}")
                continue
            if gazetteer is not None and clean:
                try:
                    t.locations = gazetteer.resolve(clean, tokens, region)
                except Exception as exc:  # noqa: BLE001 - a failed place lookup must not lose the line
                    reason = f"{type(exc).__name__}: {exc}"
                    err.write(f"yuqing nlp classify: id {ident!r}: no locations ({reason})\n")
            record = {
                "id": ident,
                "relevant": t.relevant,
                "relevance_score": t.relevance_score,
                "category": t.category,
                "subcategory": t.subcategory,
                "department_type": t.department_type,
                "sentiment": t.sentiment.model_dump(),
                "emotion": t.emotion,
                "severity": t.severity.level,
                "severity_triggers": t.severity.triggers,
                "locations": [loc.model_dump() for loc in t.locations],
                "truncated": truncated,
                "model_version": t.model_version,
            }
            out.write(_dumps(record) + "\n")
        out.flush()
    return failures


@nlp_app.command("classify")
def classify(
    model: Annotated[
        Path | None, typer.Option(help="model file; default YUQING_MODEL_PATH or the shipped baseline")
    ] = None,
) -> None:
    """Read JSON lines {"id", "text"} on stdin, print one JSON line of tags per input line, in order."""
    from nlp.classify import Tagger
    from nlp.training.modelfile import ModelFileError
    from yuqing.settings import get_settings

    try:
        tagger = Tagger.load(model or get_settings().model_path)
    except ModelFileError as exc:
        typer.echo(f"yuqing nlp classify: {exc}", err=True)
        raise typer.Exit(2) from None
    batch = 1 if sys.stdin.isatty() else 64
    failures = classify_stream(
        sys.stdin.buffer, sys.stdout, sys.stderr, tagger=tagger, gazetteer=_load_gazetteer(), batch_size=batch
    )
    if failures:
        raise typer.Exit(1)


def _print_metrics(metrics: dict[str, Any]) -> None:
    for task, m in metrics.items():
        typer.echo(f"{task:<10} n={m['n']:<6} accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f}")
        for origin, share in m.get("relevant_share_by_origin", {}).items():
            typer.echo(f"{'':<10} marked relevant: {origin:<14} {share:.4f}")
        for key in ("noise_topics_marked_not_relevant", "politics_society_marked_relevant"):
            if key in m:
                typer.echo(f"{'':<10} {key}: {m[key]:.4f}")
        if "label_accuracy" in m:
            typer.echo(f"{'':<10} sentiment.label (3-way, neutral counts as wrong) equals the binary label: "
                       f"{m['label_accuracy']:.4f}; accuracy above is the sign of sentiment.score")


def _gather(data: list[Path], shared: bool, limit: int | None) -> tuple[dict[str, Any], list[Any]]:
    from nlp.training.datasets import DatasetError, default_paths, load_sets, subsample

    paths = ([p for p in default_paths() if p.exists()] if shared else []) + data
    if not paths:
        typer.echo("yuqing nlp: no data (the shared sets are not here; pass --data FILE_OR_DIR)", err=True)
        raise typer.Exit(2)
    try:
        sets, sources = load_sets(paths)
    except (DatasetError, OSError, UnicodeDecodeError) as exc:
        typer.echo(f"yuqing nlp: {exc}", err=True)
        raise typer.Exit(2) from None
    return (subsample(sets, limit) if limit else sets), sources


def _corrections(db_url: str) -> tuple[list[Any], Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from nlp.training.datasets import load_corrections
    from yuqing.db.session import make_engine

    if db_url.startswith("sqlite") and not Path(db_url.split("///", 1)[-1]).is_file():
        return [], None
    engine = make_engine(db_url)
    try:
        return load_corrections(engine)
    except SQLAlchemyError as exc:
        typer.echo(
            f"yuqing nlp train: label corrections not read ({type(exc).__name__}); going on without", err=True
        )
        return [], None
    finally:
        engine.dispose()


@nlp_app.command("train")
def train_cmd(
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="labeled .tsv/.jsonl file or folder (repeat)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="model file to write; default DATA_DIR/models/nlp-VERSION.joblib")
    ] = None,
    shared: Annotated[bool, typer.Option(help="include the shared labeled sets (../shared/data)")] = True,
    corrections: Annotated[
        bool, typer.Option(help="include officers' label corrections from the database")
    ] = True,
    limit: Annotated[
        int | None, typer.Option(help="at most N training examples per label (quick runs)")
    ] = None,
    tune: Annotated[
        bool, typer.Option(help="choose each C by 3-fold cross-validation on the training rows")
    ] = False,
) -> None:
    """Train all tasks, evaluate them on held-out rows, and write a versioned model file."""
    from nlp.training import modelfile
    from nlp.training.datasets import add_training_examples
    from nlp.training.train import train
    from yuqing.settings import get_settings

    settings = get_settings()
    sets, sources = _gather(list(data or []), shared, limit)
    if corrections:
        examples, source = _corrections(settings.db_url)
        if source is not None:
            add_training_examples(sets, examples)
            sources.append(source)
            typer.echo(f"label corrections: {len(examples)}", err=True)
    try:
        model = train(sets, sources, tune=tune)
    except ValueError as exc:
        typer.echo(f"yuqing nlp train: {exc}", err=True)
        raise typer.Exit(2) from None
    target = out or settings.data_dir / "models" / f"nlp-{model.version}.joblib"
    modelfile.save(model, target)
    _print_metrics(model.metrics)
    typer.echo(f"wrote {target} (version {model.version})")


@nlp_app.command("evaluate")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="model file")],
    task: Annotated[
        list[str] | None, typer.Option("--task", help="relevance|category|sentiment|emotion (repeat)")
    ] = None,
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="labeled .tsv/.jsonl file or folder (repeat)")
    ] = None,
    shared: Annotated[bool, typer.Option(help="include the shared labeled sets' held-out rows")] = True,
    limit: Annotated[
        int | None, typer.Option(help="at most N held-out examples per label x2 (quick runs)")
    ] = None,
) -> None:
    """Print accuracy and macro-F1 per task on the held-out rows (dev_raw.tsv for gov_messages)."""
    from nlp.training import modelfile
    from nlp.training.datasets import TASKS
    from nlp.training.evaluate import evaluate

    tasks = task or list(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        typer.echo(
            f"yuqing nlp evaluate: unknown task(s) {unknown}; choose from {', '.join(TASKS)}", err=True
        )
        raise typer.Exit(2)
    try:
        model = modelfile.load(file)
    except modelfile.ModelFileError as exc:
        typer.echo(f"yuqing nlp evaluate: {exc}", err=True)
        raise typer.Exit(2) from None
    sets, _ = _gather(list(data or []), shared, limit * 2 if limit else None)
    typer.echo(f"model {model.version} ({file})")
    _print_metrics(evaluate(model, sets, tasks))


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the main app."""
    app.add_typer(nlp_app, name="nlp")
