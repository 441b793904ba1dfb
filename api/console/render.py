"""Rendering console pages: one Jinja2 environment (autoescaped), the layout's context, and filters
for Beijing time and durations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from api.auth.roles import ROLE_LABELS
from api.console.labels import (
    EMOTION_LABELS,
    PROBLEM_KIND_LABELS,
    SENTIMENT_LABELS,
    SOURCE_KIND_LABELS,
    SOURCE_TYPE_LABELS,
    ConsoleLabels,
    codes_on_hover,
    duration_label,
)
from api.console.search_form import highlight
from yuqing.clock import CN_TZ
from yuqing.domain import ACTION_LABELS, DEADLINE_LABELS, RELEASE_KINDS, SPEAKER_ROLES, STATUS_LABELS

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

SEVERITY_CLASS = {"特别重大": "sev-4", "重大": "sev-3", "较大": "sev-2", "一般": "sev-1"}
TASK_LABELS = {"relevance": "相关性", "category": "分类", "sentiment": "情感", "emotion": "情绪"}
LABEL_VALUE_LABELS = {"relevant": "相关", "irrelevant": "不相关", **SENTIMENT_LABELS, **EMOTION_LABELS}


def cn_time(value: datetime | str | None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        return value.strftime(fmt)
    return value.astimezone(CN_TZ).strftime(fmt)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def http_url(value: object) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None: a crawled post's link is
    rendered as ``href`` only through this filter, so ``javascript:``/``data:`` links never reach a page."""
    if not isinstance(value, str) or not value or any(ord(c) <= 32 or c == "\x7f" for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(cn_time=cn_time, iso=iso, duration=duration, http_url=http_url)
templates.env.filters.update(within=duration_label, highlight=highlight, codes_on_hover=codes_on_hover)
templates.env.globals.update(
    ROLE_LABELS=ROLE_LABELS,
    SEVERITY_CLASS=SEVERITY_CLASS,
    SENTIMENT_LABELS=SENTIMENT_LABELS,
    SOURCE_KIND_LABELS=SOURCE_KIND_LABELS,
    STATUS_LABELS=STATUS_LABELS,
    TASK_LABELS=TASK_LABELS,
    LABEL_VALUE_LABELS=LABEL_VALUE_LABELS,
    DEADLINE_LABELS=DEADLINE_LABELS,
    ACTION_LABELS=ACTION_LABELS,
    RELEASE_KINDS=RELEASE_KINDS,
    SPEAKER_ROLES=SPEAKER_ROLES,
    EMOTION_LABELS=EMOTION_LABELS,
    SOURCE_TYPE_LABELS=SOURCE_TYPE_LABELS,
    PROBLEM_KIND_LABELS=PROBLEM_KIND_LABELS,
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx = {"csrf_token": request.state.session.csrf, "user": getattr(request.state, "principal", None)}
    ctx["L"] = ConsoleLabels(getattr(request.app.state, "yuqing", None))  # labels for codes (labels.py)
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def render_error(
    request: Request, status: int, detail: str, *, headers: dict[str, str] | None = None
) -> Response:
    return render(
        request, "error.html", {"status": status, "detail": detail}, status_code=status, headers=headers
    )
