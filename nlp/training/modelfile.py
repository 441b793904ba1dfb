"""The model file: one joblib file (compressed) holding the shared featurizer, one linear model per
task, the metrics measured when it was trained and the hashes of the data it was trained from.

``FORMAT`` and ``FORMAT_VERSION`` guard against loading something else or an incompatible layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._base import LinearClassifierMixin

from nlp.training.features import Featurizer

FORMAT = "yuqing-nlp-model"
FORMAT_VERSION = 1
BASELINE = Path(__file__).resolve().parents[1] / "models" / "baseline.joblib"


class ModelFileError(ValueError):
    """The file is missing, unreadable, or not a yuqing NLP model of a known format version."""


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class TaskModel:
    """A linear classifier over the shared features; ``feature_weights`` (NB log-count ratios) scale
    the features first when set, which is the same as scaling the weights."""

    estimator: LinearClassifierMixin
    feature_weights: np.ndarray | None = None
    threshold: float | None = None  # binary tasks: P(second class) at which it is chosen
    # per-class margin offsets (multi-class tasks), chosen by cross-validation on the training rows to
    # raise macro-F1; added to the intercepts
    class_offsets: np.ndarray | None = None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.estimator.classes_]

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense (n_features, k) weights with the feature weights folded in, and the k intercepts;
        k is 1 for a binary model (margin of the second class)."""
        coef = self.estimator.coef_
        dense = np.asarray(coef.toarray() if sp.issparse(coef) else coef, dtype=np.float32)
        if self.feature_weights is not None:
            dense = dense * self.feature_weights[np.newaxis, :]
        intercept = np.asarray(self.estimator.intercept_, dtype=np.float32)
        if self.class_offsets is not None:
            intercept = intercept + self.class_offsets.astype(np.float32)
        return np.ascontiguousarray(dense.T), intercept

    def probabilities_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """(n, classes) scores that sum to one: logistic regression's probabilities (one-vs-rest,
        normalised, as scikit-learn does), or a softmax of the margins for a linear SVM."""
        if isinstance(self.estimator, LogisticRegression):
            if margins.shape[1] == 1:
                p = _sigmoid(margins[:, 0])
                return np.column_stack([1 - p, p])
            p = _sigmoid(margins)
            return p / p.sum(axis=1, keepdims=True)
        if margins.shape[1] == 1:
            margins = np.column_stack([-margins[:, 0], margins[:, 0]])
        return _softmax(margins * 2.0)

    def probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        weights, intercept = self.weights()
        return self.probabilities_from_margins(np.asarray(features @ weights) + intercept)


@dataclass
class TrainedModel:
    version: str
    created_at: str
    featurizer: Featurizer
    tasks: dict[str, TaskModel]
    metrics: dict[str, Any] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def save(model: TrainedModel, path: Path) -> Path:
    """Write ``model`` to ``path`` (parent folders created), compressed."""
    for task in model.tasks.values():
        if not sp.issparse(task.estimator.coef_):
            task.estimator.sparsify()
        task.estimator.coef_ = task.estimator.coef_.astype(np.float32)
        if task.feature_weights is not None:
            task.feature_weights = task.feature_weights.astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model}
    joblib.dump(payload, path, compress=("xz", 6))
    return path


def load(path: Path | None = None) -> TrainedModel:
    """Read a model file; ``None`` means the shipped baseline."""
    path = path or BASELINE
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file (train one with `yuqing nlp train --out {path}`)")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a usable model file"
        raise ModelFileError(f"{path}: cannot read the model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a yuqing NLP model file")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {payload.get('format_version')} is not {FORMAT_VERSION};"
            " retrain it"
        )
    model = payload["model"]
    if not isinstance(model, TrainedModel):
        raise ModelFileError(f"{path}: the model inside is not a TrainedModel")
    return model
