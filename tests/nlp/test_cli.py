"""`yuqing nlp classify | train | evaluate` as a user runs them: JSON lines in and out, bad input never
crashes, training writes a versioned model that evaluate can read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nlp.classify import Tagger
from nlp.cli import classify_stream
from nlp.training import modelfile
from yuqing.cli.main import app
from yuqing.db.migrate import create_schema
from yuqing.db.models import LabelCorrection
from yuqing.db.session import make_engine
from yuqing.settings import get_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def run_classify(tagger: Tagger, lines: list[str | bytes]) -> tuple[list[dict[str, object]], str, int]:
    raw = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    out, err = io.StringIO(), io.StringIO()
    failures = classify_stream(io.BytesIO(raw), out, err, tagger=tagger, gazetteer=None, batch_size=3)
    return [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue(), failures


def test_one_line_out_per_line_in_with_the_named_fields_in_order(tagger: Tagger) -> None:
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False)
        for i, t in enumerate(
            ["某小区自来水浑浊三天无人处理，居民很愤怒", "", "化工厂爆炸致3人死亡", "湖人险胜勇士"]
        )
    ]
    results, err, failures = run_classify(tagger, lines)
    assert failures == 0 and err == ""
    assert [r["id"] for r in results] == [0, 1, 2, 3]
    first = results[0]
    assert first["relevant"] is True and first["category"] == "城乡建设"
    assert first["sentiment"]["label"] == "negative"
    assert first["emotion"] == "angry"
    assert first["severity"] is None and first["locations"] == []
    assert results[2]["severity"] == "较大" and "3人死亡" in results[2]["severity_triggers"]
    assert results[1]["relevant"] is False and results[1]["truncated"] is False


def test_bad_lines_get_an_error_line_in_place_and_a_message(tagger: Tagger) -> None:
    lines: list[str | bytes] = [
        '{"id": "a", "text": "路灯坏了"}',
        '{"id": "b", "text": "没有结尾',
        "[1, 2]",
        '{"id": 7, "text": 12}',
        "",
        b'{"id": "c", "text": "\xff\xfe\xe4\xb8\xad"}',
        '{"id": "d", "text": "<script>x()</script><b>&lt;停水&gt;</b>\\u0000\\u0007三天"}',
    ]
    results, err, failures = run_classify(tagger, lines)
    assert [r.get("id") for r in results] == ["a", "b", None, 7, "c", "d"]
    assert failures == 3
    assert "error" in results[1] and "not JSON" in results[1]["error"]
    assert "error" in results[2] and "error" in results[3]
    assert "error" not in results[4] and "error" not in results[5]
    assert err.count("yuqing nlp classify") == 3


def test_enormous_text_is_capped_and_says_so(tagger: Tagger) -> None:
    line = json.dumps({"id": "big", "text": "群众反映噪音扰民。" * 100_000}, ensure_ascii=False)
    (result,), _, failures = run_classify(tagger, [line])
    assert failures == 0
    assert result["truncated"] is True
    assert result["relevant"] is True


def test_classify_command_exit_code_reflects_bad_lines() -> None:
    ok = runner.invoke(app, ["nlp", "classify"], input='{"id": "x", "text": "公交车晚点严重"}\n')
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.splitlines()[0])["id"] == "x"
    bad = runner.invoke(app, ["nlp", "classify"], input="not json\n")
    assert bad.exit_code == 1
    assert "error" in json.loads(bad.stdout.splitlines()[0])


def _write_user_data(path: Path) -> Path:
    rows = []
    for i in range(12):
        rows.append({"task": "emotion", "label": "angry", "text": f"气死我了第{i}次投诉还是没人管"})
        rows.append({"task": "emotion", "label": "happy", "text": f"今天真开心第{i}天阳光明媚"})
        rows.append({"task": "category", "label": "交通运输", "text": f"{i}路公交车经常晚点还拒载"})
        rows.append({"task": "category", "label": "卫生计生", "text": f"第{i}人民医院挂号难看病贵"})
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_train_then_evaluate_on_a_users_own_file_with_corrections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "var" / "yuqing.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    with Session(engine) as s:
        s.add(
            LabelCorrection(
                post_id="p9",
                text="地铁站电梯坏了没人修",
                task="category",
                label="交通运输",
                previous="城乡建设",
                user="officer",
                created_at=datetime(2026, 11, 22, tzinfo=UTC),
            )
        )
        s.commit()
    engine.dispose()
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    data = _write_user_data(tmp_path / "mine.jsonl")
    out = tmp_path / "model.joblib"
    try:
        trained = runner.invoke(app, ["nlp", "train", "--no-shared", "--data", str(data), "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert trained.exit_code == 0, trained.output
    assert "category" in trained.stdout and "emotion" in trained.stdout
    model = modelfile.load(out)
    assert set(model.tasks) == {"category", "emotion"}
    assert any(d["path"] == "db:label_corrections" and d["rows"] == 1 for d in model.data)
    assert any(d["path"].endswith("mine.jsonl") for d in model.data)

    evaluated = runner.invoke(
        app, ["nlp", "evaluate", str(out), "--no-shared", "--data", str(data), "--task", "emotion"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    (line,) = [x for x in evaluated.stdout.splitlines() if x.startswith("emotion")]
    assert "accuracy=" in line and "macro_f1=" in line


def test_train_and_evaluate_refuse_bad_input_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\ttext\nnot-a-label\t文本\n", "utf-8")
    r = runner.invoke(app, ["nlp", "train", "--no-shared", "--no-corrections", "--data", str(bad)])
    assert r.exit_code == 2
    assert "bad.tsv" in r.stderr
    r = runner.invoke(app, ["nlp", "evaluate", str(tmp_path / "missing.joblib")])
    assert r.exit_code == 2 and "no such model file" in r.stderr
    r = runner.invoke(app, ["nlp", "evaluate", str(modelfile.BASELINE), "--task", "horoscope"])
    assert r.exit_code == 2 and "unknown task" in r.stderr


def test_a_failing_place_lookup_keeps_the_line(tagger: Tagger) -> None:
    class BrokenGazetteer:
        def resolve(self, text: str, tokens: list[str], region: str | None) -> list[object]:
            raise RuntimeError("index missing")

    out, err = io.StringIO(), io.StringIO()
    line = json.dumps({"id": "g", "text": "合肥市蜀山区路灯坏了"}, ensure_ascii=False).encode() + b"\n"
    failures = classify_stream(io.BytesIO(line), out, err, tagger=tagger, gazetteer=BrokenGazetteer())
    (result,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert failures == 0
    assert result["id"] == "g" and result["locations"] == [] and result["category"]
    assert "index missing" in err.getvalue()


def test_hostile_lines_get_an_error_line_or_are_repaired_and_the_run_goes_on(tagger: Tagger) -> None:
    lines: list[str | bytes] = [
        '{"id": "before", "text": "小区停水三天无人处理"}',
        "[" * 100_000 + "]" * 100_000,
        '{"id": "deep", "text": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
        '{"id": "surrogate", "text": "路灯坏了\\ud800三天"}',
        '{"id": "\\udfff", "text": "孤立的低位代理项"}',
        "not json",
        '{"id": "after", "text": "化工厂爆炸致3人死亡"}',
    ]
    results, err, failures = run_classify(tagger, lines)
    assert len(results) == len(lines)
    assert [r.get("line") for r in results if "error" in r] == [2, 3, 6]
    assert failures == 3
    assert "nested deeper" in results[1]["error"] and "nested deeper" in results[2]["error"]
    assert results[2]["id"] == "deep" and results[1]["id"] is None
    assert results[5]["error"].startswith("not JSON")
    assert results[0]["id"] == "before" and results[0]["relevant"] is True
    assert results[6]["id"] == "after" and results[6]["severity"] == "较大"
    assert results[3]["id"] == "surrogate" and "error" not in results[3]
    assert results[4]["id"] == "\ufffd" and "error" not in results[4]
    assert "line 4 with id 'surrogate': 1 lone surrogate(s) replaced" in err
    assert "Traceback" not in err


def test_classify_command_survives_a_deep_array_and_a_lone_surrogate() -> None:
    stdin = "\n".join([
        '{"id": "a", "text": "公交车晚点严重"}',
        "[" * 100_000 + "]" * 100_000,
        '{"id": "b", "text": "\\ud800"}',
        '{"id": "c", "text": "医院排队太久"}',
    ]) + "\n"
    result = runner.invoke(app, ["nlp", "classify"], input=stdin)
    assert result.exit_code == 1  # one line could not be classified
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("id") for r in out] == ["a", None, "b", "c"]
    assert "error" in out[1] and out[1]["line"] == 2
    assert all("error" not in out[i] for i in (0, 2, 3))
