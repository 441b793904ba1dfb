"""Training from labeled files: data reading, held-out splits, the model file, corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nlp.classify import Tagger
from nlp.training import datasets, modelfile
from nlp.training.evaluate import evaluate
from nlp.training.train import train
from yuqing.clock import FakeClock
from yuqing.db.models import LabelCorrection

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def small() -> tuple[dict[str, datasets.Split], list[datasets.SourceFile]]:
    sets, sources = datasets.load_sets(datasets.default_paths())
    return datasets.subsample(sets, 40), sources


@pytest.fixture(scope="module")
def small_model(small: tuple[dict[str, datasets.Split], list[datasets.SourceFile]]) -> modelfile.TrainedModel:
    """A small model trained as shipped."""
    sets, sources = small
    return train(sets, sources, clock=FakeClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC)))


def test_shared_sets_are_read_with_their_tasks_and_the_dev_file_is_kept_apart() -> None:
    sets, sources = datasets.load_sets(datasets.default_paths())
    assert {ex.label for ex in sets["sentiment"].train} == {"positive", "negative"}
    assert {ex.label for ex in sets["relevance"].train} == {"relevant", "noise"}
    assert len({ex.label for ex in sets["category"].train}) == 7
    train_texts = {ex.text for ex in sets["category"].train}
    assert len(sets["category"].dev) == 1842 and not sets["category"].held_out
    assert not any(ex.text in train_texts for ex in sets["category"].dev[:200])
    relevance_train = {ex.text for ex in sets["relevance"].train}
    assert not any(ex.text in relevance_train for ex in sets["category"].dev[:200])
    assert "stocks" not in {ex.origin for ex in sets["relevance"].train}
    names = {Path(s.path).name for s in sources}
    assert {"train_segmented.tsv", "dev_raw.tsv", "train.tsv"} <= names
    assert all(len(s.sha256) == 64 and s.rows > 0 for s in sources)


def test_the_split_is_deterministic_and_disjoint() -> None:
    rows = [datasets.Example("emotion", lab, f"{lab} {i}") for i in range(50) for lab in ("happy", "sad")]
    a, b = datasets.split(rows), datasets.split(list(rows))
    assert a.held_out == b.held_out
    assert len(a.held_out) == 20
    assert not set(a.held_out) & set(a.train)


def test_user_files_in_tsv_and_jsonl(tmp_path: Path) -> None:
    mine = "task\tlabel\ttext\nemotion\tangry\t气死了\nsentiment\t0\t太差了\n"
    (tmp_path / "mine.tsv").write_text(mine, "utf-8")
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"label": "卫生计生", "text": "医院乱收费"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"task": "relevance", "label": "noise", "text": "今晚球赛"}, ensure_ascii=False)
        + "\n",
        "utf-8",
    )
    examples = datasets.read_file(tmp_path / "mine.tsv") + datasets.read_file(tmp_path / "more.jsonl")
    assert [(e.task, e.label) for e in examples] == [
        ("emotion", "angry"),
        ("sentiment", "negative"),
        ("category", "卫生计生"),
        ("relevance", "noise"),
    ]


def test_bad_files_say_what_is_wrong(tmp_path: Path) -> None:
    bad_label = tmp_path / "x.tsv"
    bad_label.write_text("task\tlabel\ttext\nemotion\tjoyful\t好\n", "utf-8")
    with pytest.raises(datasets.DatasetError, match="joyful"):
        datasets.read_file(bad_label)
    bad_json = tmp_path / "y.jsonl"
    bad_json.write_text('{"label": "happy", "text": "好"}\nnot json\n', "utf-8")
    with pytest.raises(datasets.DatasetError, match=r"y.jsonl:2"):
        datasets.read_file(bad_json)


def test_the_model_file_round_trips_with_version_metrics_and_data_hashes(
    small_model: modelfile.TrainedModel, tmp_path: Path
) -> None:
    path = modelfile.save(small_model, tmp_path / "m" / "model.joblib")
    loaded = modelfile.load(path)
    assert loaded.version == small_model.version
    assert loaded.version.startswith("20261123-")
    assert set(loaded.metrics) == {"relevance", "category", "sentiment", "emotion"}
    for m in loaded.metrics.values():
        assert 0.0 <= m["macro_f1"] <= 1.0 and m["n"] > 0
    assert any(d["path"].endswith("dev_raw.tsv") for d in loaded.data)
    text, tokens = "医院乱收费，看病太贵", ["医院", "乱", "收费", "，", "看病", "太贵"]
    assert Tagger(loaded).tag(text, tokens) == Tagger(small_model).tag(text, tokens)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"not a model")
    with pytest.raises(modelfile.ModelFileError, match="cannot read"):
        modelfile.load(junk)
    with pytest.raises(modelfile.ModelFileError, match="no such model file"):
        modelfile.load(tmp_path / "missing.joblib")


def test_a_small_model_beats_chance_on_held_out_rows(small_model: modelfile.TrainedModel) -> None:
    assert small_model.metrics["category"]["macro_f1"] > 1 / 7 + 0.2
    assert small_model.metrics["relevance"]["accuracy"] > 0.6


def test_corrections_latest_wins_and_enter_training_only(
    db_engine: Engine, small: tuple[dict[str, datasets.Split], list[datasets.SourceFile]]
) -> None:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    rows = [
        ("p1", "category", "城乡建设", "小区门口垃圾成山"),
        ("p1", "category", "环境保护", "小区门口垃圾成山"),  # a later correction of the same post
        ("p2", "emotion", "fear", "半夜听到爆炸声好害怕"),
        ("p3", "emotion", "not-an-emotion", "好"),
    ]
    with Session(db_engine) as s:
        for i, (post, task, label, text) in enumerate(rows):
            s.add(
                LabelCorrection(
                    post_id=post,
                    task=task,
                    label=label,
                    text=text,
                    previous=None,
                    user="officer",
                    created_at=t0.replace(hour=i),
                )
            )
        s.commit()
    examples, source = datasets.load_corrections(db_engine)
    assert sorted((e.task, e.label, e.text) for e in examples) == [
        ("category", "环境保护", "小区门口垃圾成山"),
        ("emotion", "fear", "半夜听到爆炸声好害怕"),
    ]
    assert source is not None and source.rows == 2
    sets = {t: datasets.Split(list(s.train), list(s.held_out)) for t, s in small[0].items()}
    datasets.add_training_examples(sets, examples)
    assert any(e.text == "小区门口垃圾成山" for e in sets["category"].train)
    assert any(e.text == "小区门口垃圾成山" and e.label == "relevant" for e in sets["relevance"].train)
    assert not any(e.origin == "label_corrections" for s in sets.values() for e in s.held_out)


def test_tuning_picks_c_from_the_grid_by_cross_validation_on_training_rows() -> None:
    from nlp.training.features import Featurizer
    from nlp.training.train import C_GRID, fit_task

    texts = [f"气死了{i}投诉没人管" for i in range(9)] + [f"真开心{i}阳光很好" for i in range(9)]
    tokens = [[t[:3], t[3:]] for t in texts]
    labels = ["angry"] * 9 + ["happy"] * 9
    features = Featurizer().fit(texts, tokens)
    model = fit_task("emotion", features, labels, tune=True)
    assert model.estimator.C in C_GRID
    assert model.classes == ["angry", "happy"]


def test_every_category_has_a_department_and_keywords_name_real_second_levels() -> None:
    from yuqing.taxonomy import CATEGORIES, load_taxonomy

    taxonomy = load_taxonomy()
    assert set(taxonomy.subcategories) == set(CATEGORIES)
    assert taxonomy.department_for("卫生计生") == "卫生健康委员会"
    assert taxonomy.department_for("教育文体") == "教育局"
    assert taxonomy.department_for("环境保护") == "生态环境局"
    assert taxonomy.department_for("政法", "诉讼") == "人民法院"
    assert taxonomy.department_for("政法", "不存在的二级") == "公安局"
    for category, sub in taxonomy.keywords:
        assert sub in taxonomy.subcategories[category]
    assert {c for c, _ in taxonomy.keywords} == set(CATEGORIES)


def test_class_offsets_recover_a_class_the_margins_under_predict() -> None:
    import numpy as np

    from nlp.training.train import macro_f1_offsets

    classes = ["angry", "fear", "happy"]
    truth = [classes[i % 3] for i in range(30)]
    margins = np.array([[1.0 if c == t else 0.0 for c in classes] for t in truth])
    margins[:, 1] -= 1.2  # "fear" never wins without an offset
    offsets = macro_f1_offsets(margins, truth, classes)
    predicted = [classes[k] for k in np.argmax(margins + offsets, axis=1)]
    assert "fear" not in [classes[k] for k in np.argmax(margins, axis=1)]
    assert predicted == truth


def test_the_trained_emotion_offsets_are_applied_when_tagging(small_model: modelfile.TrainedModel) -> None:
    import copy

    import numpy as np

    emotion = small_model.tasks["emotion"]
    assert emotion.class_offsets is not None and emotion.class_offsets.shape == (len(emotion.classes),)
    texts = ["气死了，投诉三次没人管", "今天阳光很好，真开心", "半夜听到爆炸声好害怕"]
    tokens = [
        ["气死", "了", "投诉", "三次", "没人管"],
        ["今天", "阳光", "很", "好", "真", "开心"],
        ["半夜", "听到", "爆炸声", "好", "害怕"],
    ]
    shifted = copy.deepcopy(small_model)
    boost = np.zeros(len(emotion.classes), dtype=np.float32)
    boost[emotion.classes.index("surprise")] = 100.0
    shifted.tasks["emotion"].class_offsets = boost
    assert [t.emotion for t in Tagger(shifted).tag_many(texts, tokens)] == ["surprise"] * 3
    assert [t.emotion for t in Tagger(small_model).tag_many(texts, tokens)] != ["surprise"] * 3


def test_origin_weights_shift_weight_within_a_label_and_keep_the_class_balance() -> None:
    from nlp.training.train import origin_weights

    rows = [datasets.Example("relevance", "relevant", f"留言{i}", None, "gov_messages") for i in range(6)]
    rows += [datasets.Example("relevance", "relevant", f"新闻{i}", None, "politics") for i in range(2)]
    rows += [datasets.Example("relevance", "noise", f"球赛{i}", None, "sports") for i in range(4)]
    w = origin_weights(rows, {"gov_messages": 0.3})
    assert w[:6].sum() + w[6:8].sum() == pytest.approx(8)  # the relevant class keeps its total
    assert w[0] == pytest.approx(0.3 * w[6])
    assert list(w[8:]) == pytest.approx([1.0] * 4)


def test_dev_rows_are_evaluated_never_trained_on(
    small: tuple[dict[str, datasets.Split], list[datasets.SourceFile]], small_model: modelfile.TrainedModel
) -> None:
    sets, _ = small
    assert small_model.params["train_rows"]["category"] == len(sets["category"].train)
    assert small_model.metrics["category"]["n"] == len(sets["category"].dev)
    assert evaluate(small_model, sets, ["category"])["category"] == small_model.metrics["category"]


def test_sentiment_accuracy_is_the_score_sign_and_the_label_agreement_is_reported_beside_it() -> None:
    from nlp.training.evaluate import measure
    from yuqing.schemas import Sentiment, Tags

    rows = [datasets.Example("sentiment", label, f"t{i}") for i, label in
            enumerate(["positive", "positive", "negative", "negative"])]
    tags = [Tags(sentiment=Sentiment(label=label, score=score)) for label, score in
            [("positive", 0.9), ("neutral", 0.1), ("neutral", -0.05), ("negative", 0.2)]]
    entry = measure("sentiment", rows, tags)
    assert entry["accuracy"] == 0.75  # score signs +, +, -, + against +, +, -, -
    assert entry["label_accuracy"] == 0.5  # labels: the two neutral ones count as wrong
