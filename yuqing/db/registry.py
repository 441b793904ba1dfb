"""Import every module that defines tables, so Base.metadata is complete (migrations, create_all)."""

from __future__ import annotations

import importlib

from yuqing.db.base import Base

MODEL_MODULES = (
    "yuqing.db.models",
    "crawlers.models",
    "alerting.directory_models",
    "alerting.models",
    "alerting.policy_models",
    "incidents.models",
    "incidents.state",
    "api.models",
    "reports.models",
    "nlp.plans.models",
)


def load_all_models() -> type[Base]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
