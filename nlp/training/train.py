"""Train every task's model on the shared features and write a versioned model file.

Each task is a linear model over the same hashed TF-IDF features: relevance and sentiment are
logistic regressions (sentiment on NB-SVM style log-count-ratio weighted features, Wang & Manning
2012), category and emotion linear SVMs; all class-balanced. Relevance's decision threshold is chosen
by 3-fold cross-validation on the training rows (``relevance_threshold``), and so are emotion's per-class
margin offsets (``macro_f1_offsets``). ``tune=True`` also picks each C by 3-fold cross-validation on the
training rows only; held-out rows are never used for choices.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_sample_weight

from nlp.tokenize import clean_text, segment
from nlp.training.datasets import SPLIT_SEED, TASKS, Example, SourceFile, Split
from nlp.training.features import Featurizer
from nlp.training.modelfile import TaskModel, TrainedModel
from yuqing.clock import Clock, SystemClock

log = logging.getLogger(__name__)

# C values: 3-fold cross-validation on the training rows (category: 3.0 scored best of 0.3 / 1 / 3).
# "offsets": tune per-class margin offsets for macro-F1 on cross-validated training margins.
# "origin_weights": relevance's gov_messages rows (long citizen letters, easy to tell from noise) count 0.3
# of a news title, so the model spends itself on the titles where the relevant/noise line is drawn (each
# class keeps its total weight): 0.3 gave a higher 3-fold CV recall of relevant news titles at the
# 95%-noise-out cut on the training rows than 1.0, at C = 3, 10 and 30.
# "train_on_dev": the task also trains on its dev rows (gov_messages/dev_raw.tsv: raw text, where the
# training file is segmented with stopwords removed), each weighted "dev_weight"; its dev figure is then
# the pooled out-of-fold score of "dev_folds"-fold stratified cross-validation over the dev rows (each
# fold's model trains on the training rows + the other folds), and the same model trained without dev
# rows is measured on them too (``dev_figures``). Off for category: with dev_raw trained on (weight 1, C 3)
# the out-of-fold dev_raw macro-F1 was 0.9149 against 0.9154 without it (same run) — no gain, and dev_raw
# stays an untouched held-out set. Turn it on here to ship a model trained on train_segmented + dev_raw.
# "nb": True scales the features by one NB log-count ratio vector (positive vs the rest; sentiment);
# "ovr" fits one-vs-rest NB-SVM (``NBOneVsRest``: a ratio vector per class, folded into the weights, so
# the model stays one plain linear layer). "ovr" was tried for emotion and category and not kept: 3-fold
# CV on the training rows did not improve (emotion 0.6248 at best vs 0.6367 with offsets; category
# 0.8707 vs 0.8690, inside the noise) and neither did the held-out figures (see MODEL_CARD.md).
TASK_PARAMS: dict[str, dict[str, Any]] = {
    "relevance": {
        "estimator": "logreg",
        "C": 10.0,
        "nb": False,
        "offsets": False,
        "scoring": "f1_macro",
        "origin_weights": {"gov_messages": 0.3},
    },
    "category": {
        "estimator": "svm",
        "C": 3.0,
        "nb": False,
        "offsets": False,
        "scoring": "f1_macro",
        "train_on_dev": False,
        "dev_weight": 1.0,
        "dev_folds": 5,
    },
    "sentiment": {"estimator": "logreg", "C": 10.0, "nb": True, "offsets": False, "scoring": "accuracy"},
    "emotion": {"estimator": "svm", "C": 0.3, "nb": False, "offsets": True, "scoring": "f1_macro"},
}
THRESHOLD_GRID = np.round(np.arange(0.3, 0.905, 0.005), 3)
OFFSET_GRID = np.round(np.arange(-0.5, 0.51, 0.05), 2)
OFFSET_ROUNDS = 2
NOISE_RECALL = 0.95
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


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


def _estimator(name: str, c: float, nb: bool | str = False) -> LinearSVC | LogisticRegression | NBOneVsRest:
    if nb == "ovr":
        return NBOneVsRest(C=c, estimator=name)
    if name == "svm":
        return LinearSVC(C=c, class_weight="balanced")
    return LogisticRegression(C=c, solver="liblinear", class_weight="balanced")


def origin_weights(examples: Sequence[Example], weights: dict[str, float]) -> np.ndarray:
    """Sample weights from each example's origin (1 when not in ``weights``), rescaled within each
    label to average 1, so the class balance is unchanged."""
    w = np.asarray([weights.get(ex.origin, 1.0) for ex in examples], dtype=np.float64)
    labels = np.asarray([ex.label for ex in examples])
    for label in set(labels.tolist()):
        mask = labels == label
        w[mask] *= mask.sum() / w[mask].sum()
    return w


def relevance_threshold(
    x: sp.csr_matrix, labels: list[str], c: float, sample_weight: np.ndarray | None = None
) -> float:
    """The P(relevant) cut, from 3-fold cross-validation on the training rows: the operating point the
    issue asks for keeps at least NOISE_RECALL of noise out, so among the cuts that do, the one with the
    best balanced accuracy (mean of the recalls of relevant and noise); if none does, the best overall."""
    truth = np.asarray(labels) == "relevant"
    if min(truth.sum(), (~truth).sum()) < 3:
        return 0.5
    proba = cross_val_predict(
        _estimator("logreg", c), x, labels, cv=3, method="predict_proba", params=_fit_params(sample_weight)
    )
    p = proba[:, sorted(set(labels)).index("relevant")]

    def noise_recall(th: float) -> float:
        return float(np.mean(p[~truth] < th))

    def balanced_accuracy(th: float) -> float:
        return (float(np.mean(p[truth] >= th)) + noise_recall(th)) / 2

    meeting = [th for th in THRESHOLD_GRID if noise_recall(th) >= NOISE_RECALL]
    return float(max(meeting or THRESHOLD_GRID, key=balanced_accuracy))


def macro_f1_offsets(margins: np.ndarray, labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Per-class offsets added to the margins that raise macro-F1 on (cross-validated) ``margins``:
    coordinate ascent over OFFSET_GRID, one class at a time, OFFSET_ROUNDS passes; an offset moves only
    when it gains more than 1e-4."""
    names = np.asarray(classes)
    truth = np.asarray(labels)

    def score(offsets: np.ndarray) -> float:
        predicted = names[np.argmax(margins + offsets, axis=1)]
        return float(f1_score(truth, predicted, labels=names, average="macro", zero_division=0))

    offsets = np.zeros(len(names))
    for _ in range(OFFSET_ROUNDS):
        for k in range(len(names)):
            best, best_value = score(offsets), offsets[k]
            for value in OFFSET_GRID:
                trial = offsets.copy()
                trial[k] = value
                if (s := score(trial)) > best + 1e-4:
                    best, best_value = s, value
            offsets[k] = best_value
    return offsets.astype(np.float32)


def _log_count_ratio(present: sp.csr_matrix, mask: np.ndarray, alpha: float) -> np.ndarray:
    p = np.asarray(present[mask].sum(axis=0)).ravel() + alpha
    q = np.asarray(present[~mask].sum(axis=0)).ravel() + alpha
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def nb_weights(features: sp.csr_matrix, labels: Sequence[str], positive: str) -> np.ndarray:
    """Log-count ratio of each feature between the positive class and the rest (smoothed by 1)."""
    present = (features > 0).astype(np.float32)
    return _log_count_ratio(present, np.asarray([lab == positive for lab in labels]), 1.0)


class NBOneVsRest(ClassifierMixin, BaseEstimator):
    """One-vs-rest NB-SVM (Wang & Manning 2012) for a multi-class task: for each class c, r_c is the
    log-count ratio of the binarised features between c and the rest (smoothed by ``alpha``) and a binary
    linear model is fitted on ``x * r_c``. The class margin ``w_c . (x * r_c) + b_c`` is
    ``(w_c * r_c) . x + b_c``, so ``folded()`` gives an ordinary linear model of the same shape as a plain
    one (``TASK_PARAMS[task]["nb"] = "ovr"``). Class balance as ``class_weight="balanced"`` of the
    multi-class model: every row weighted by its class's balanced weight in each binary problem. The
    ratios are computed inside ``fit``, so cross-validation recomputes them on each fold's training rows."""

    def __init__(self, C: float = 1.0, estimator: str = "svm", alpha: float = 1.0) -> None:
        self.C = C
        self.estimator = estimator
        self.alpha = alpha

    def fit(self, x: sp.csr_matrix, y: Sequence[Any], sample_weight: np.ndarray | None = None) -> NBOneVsRest:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        weight = compute_sample_weight("balanced", y)
        if sample_weight is not None:
            weight = weight * np.asarray(sample_weight)
        present = (x > 0).astype(np.float32)
        seen = np.asarray(present.sum(axis=0)).ravel() > 0
        coefs, intercepts = [], []
        for c in self.classes_:
            mask = y == c
            ratio = np.where(seen, _log_count_ratio(present, mask, self.alpha), 0.0).astype(np.float32)
            if self.estimator == "svm":
                binary: LinearSVC | LogisticRegression = LinearSVC(C=self.C)
            else:
                binary = LogisticRegression(C=self.C, solver="liblinear")
            binary.fit(x.multiply(ratio).tocsr(), mask.astype(int), sample_weight=weight)
            coefs.append(binary.coef_.ravel() * ratio)
            intercepts.append(float(binary.intercept_[0]))
        self.coef_ = np.vstack(coefs).astype(np.float32)
        self.intercept_ = np.asarray(intercepts)
        return self

    def decision_function(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef_.T) + self.intercept_

    def predict(self, x: sp.csr_matrix) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(x), axis=1)]

    def folded(self) -> LinearSVC | LogisticRegression:
        """The fitted model as a plain scikit-learn linear model (the ratios folded into its weights)."""
        plain = _estimator(self.estimator, self.C)
        plain.coef_ = self.coef_
        plain.intercept_ = self.intercept_
        plain.classes_ = self.classes_
        return plain


def _fit_params(sample_weight: np.ndarray | None) -> dict[str, Any]:
    return {} if sample_weight is None else {"sample_weight": sample_weight}


def fit_task(
    task: str,
    features: sp.csr_matrix,
    labels: list[str],
    *,
    tune: bool = False,
    sample_weight: np.ndarray | None = None,
) -> TaskModel:
    params = TASK_PARAMS[task]
    nb = params["nb"]
    weights = nb_weights(features, labels, "positive") if nb is True else None
    x = features.multiply(weights).tocsr() if weights is not None else features
    c = params["C"]
    enough = min(labels.count(lab) for lab in set(labels)) >= 3  # for 3-fold cross-validation
    if tune and enough:
        search = GridSearchCV(
            _estimator(params["estimator"], c, nb), {"C": C_GRID}, cv=3, scoring=params["scoring"]
        )
        search.fit(x, labels, **_fit_params(sample_weight))
        c = float(search.best_params_["C"])
        log.info("%s: C=%s by 3-fold CV (%.4f)", task, c, search.best_score_)
    estimator = _estimator(params["estimator"], c, nb).fit(x, labels, sample_weight=sample_weight)
    if isinstance(estimator, NBOneVsRest):
        estimator = estimator.folded()
    threshold = relevance_threshold(x, labels, c, sample_weight) if task == "relevance" else None
    offsets = None
    if params["offsets"] and len(estimator.classes_) > 2 and enough:
        margins = cross_val_predict(
            _estimator(params["estimator"], c, nb),
            x,
            labels,
            cv=3,
            method="decision_function",
            params=_fit_params(sample_weight),
        )
        offsets = macro_f1_offsets(margins, labels, [str(k) for k in estimator.classes_])
        log.info("%s: class offsets %s", task, offsets.round(2).tolist())
    return TaskModel(estimator, weights, threshold, offsets)


def dev_figures(
    task: str,
    featurizer: Featurizer,
    x: sp.csr_matrix,
    labels: list[str],
    sample_weight: np.ndarray | None,
    dev: Sequence[Example],
    x_dev: sp.csr_matrix,
    cache: dict[str, tuple[str, list[str]]],
) -> dict[str, Any]:
    """The dev figures of a task that trains on its dev rows (keys from ``evaluate``): the model trained
    without them, and the pooled out-of-fold predictions of k-fold stratified cross-validation over the
    dev rows, each fold's model trained on ``x`` + the other folds as ``fit_with_dev`` does. Measured
    through ``Tagger`` as ``evaluate`` does; fewer than 2 dev rows of some label: no out-of-fold figure."""
    from nlp.classify import Tagger
    from nlp.training.evaluate import measure, oof_key, tag_rows, without_dev_key

    def tagger(model: TaskModel) -> Tagger:
        return Tagger(TrainedModel("dev-cv", "", featurizer, {task: model}))

    params = TASK_PARAMS[task]
    figures = {
        without_dev_key(task): measure(
            task, dev, tag_rows(tagger(fit_task(task, x, labels, sample_weight=sample_weight)), dev, cache)
        )
    }
    dev_labels = [ex.label for ex in dev]
    k = min(params["dev_folds"], *(dev_labels.count(lab) for lab in set(dev_labels)))
    if k < 2:
        return figures
    predicted: list[Any] = [None] * len(dev)
    folds = StratifiedKFold(k, shuffle=True, random_state=SPLIT_SEED).split(np.zeros(len(dev)), dev_labels)
    for i, (others, fold) in enumerate(folds):
        log.info("%s: dev fold %d of %d", task, i + 1, k)
        xf, yf, wf = fit_with_dev(
            task, x, labels, sample_weight, x_dev[others], [dev_labels[j] for j in others]
        )
        fold_tagger = tagger(fit_task(task, xf, yf, sample_weight=wf))
        for j, tags in zip(fold, tag_rows(fold_tagger, [dev[j] for j in fold], cache), strict=True):
            predicted[j] = tags
    figures[oof_key(task)] = measure(task, dev, predicted) | {"folds": k}
    return figures


def fit_with_dev(
    task: str,
    x: sp.csr_matrix,
    labels: list[str],
    sample_weight: np.ndarray | None,
    x_dev: sp.csr_matrix,
    dev_labels: list[str],
) -> tuple[sp.csr_matrix, list[str], np.ndarray | None]:
    """Training rows followed by dev rows, with the dev rows weighted ``dev_weight``."""
    weight = float(TASK_PARAMS[task]["dev_weight"])
    rows = sp.vstack([x, x_dev], format="csr")
    if sample_weight is None and weight == 1.0:
        return rows, labels + dev_labels, None
    base = np.ones(x.shape[0]) if sample_weight is None else sample_weight
    return rows, labels + dev_labels, np.concatenate([base, np.full(x_dev.shape[0], weight)])


def _offsets_of(task: TaskModel) -> dict[str, float] | None:
    if task.class_offsets is None:
        return None
    return {c: round(float(o), 3) for c, o in zip(task.classes, task.class_offsets, strict=True)}


def _version(sources: Sequence[SourceFile], params: dict[str, Any], created: datetime) -> str:
    blob = json.dumps([[asdict(s) for s in sources], params], sort_keys=True, ensure_ascii=False)
    return f"{created:%Y%m%d}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def train(
    sets: dict[str, Split],
    sources: Sequence[SourceFile],
    *,
    tune: bool = False,
    clock: Clock | None = None,
) -> TrainedModel:
    """Fit the features and the task models on ``sets``' training rows and measure them on the held-out
    rows. Tasks without at least two training labels are left out of the model."""
    from nlp.training.evaluate import evaluate, row_key

    cache: dict[str, tuple[str, list[str]]] = {}
    usable = [t for t in TASKS if len({ex.label for ex in sets[t].train}) >= 2]
    if not usable:
        raise ValueError("no task has training examples of two or more labels")
    prepared = {t: tokens_of(sets[t].train, cache) for t in usable}
    featurizer = Featurizer()
    all_texts = [x for t in usable for x in prepared[t][0]]
    all_tokens = [x for t in usable for x in prepared[t][1]]
    featurizer.fit(all_texts, all_tokens)
    tasks: dict[str, TaskModel] = {}
    dev_metrics: dict[str, Any] = {}
    dev_rows: dict[str, list[str]] = {}
    for task in usable:
        texts, tokens = prepared[task]
        labels = [ex.label for ex in sets[task].train]
        by_origin = TASK_PARAMS[task].get("origin_weights")
        weights = origin_weights(sets[task].train, by_origin) if by_origin else None
        x = featurizer.transform(texts, tokens)
        dev = sets[task].dev if TASK_PARAMS[task].get("train_on_dev") else []
        if dev:
            x_dev = featurizer.transform(*tokens_of(dev, cache))
            dev_metrics |= dev_figures(task, featurizer, x, labels, weights, dev, x_dev, cache)
            x, labels, weights = fit_with_dev(task, x, labels, weights, x_dev, [ex.label for ex in dev])
            dev_rows[task] = sorted({row_key(ex.text) for ex in dev})
        log.info("training %s on %d examples (%d dev rows)", task, len(labels), len(dev))
        tasks[task] = fit_task(task, x, labels, tune=tune, sample_weight=weights)
    created = (clock or SystemClock()).now()
    params = {
        "tasks": {
            t: TASK_PARAMS[t]
            | {
                "C": float(tasks[t].estimator.C),
                "threshold": tasks[t].threshold,
                "class_offsets": _offsets_of(tasks[t]),
            }
            for t in usable
        },
        "features": {
            "char_bits": featurizer.char_bits,
            "word_bits": featurizer.word_bits,
            "char_ngrams": [1, 3],
        },
        "train_rows": {t: len(sets[t].train) for t in usable},
        "dev_rows": {t: len(rows) for t, rows in dev_rows.items()},
    }
    model = TrainedModel(
        version=_version(sources, params, created),
        created_at=created.isoformat(),
        featurizer=featurizer,
        tasks=tasks,
        data=[asdict(s) for s in sources],
        params=params | {"dev_rows_trained_on": dev_rows},
    )
    model.metrics = dev_metrics
    model.metrics = evaluate(model, sets, usable, cache=cache)
    return model
