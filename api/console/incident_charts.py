"""The incident page's chart data (read by static/charts.js from JSON blocks): the trend of posts and heat
and of sentiment on a time axis, every release of 持续发布 (权威信息, 进展通报, 发布会) as a line, the
effect review's before and after windows shaded, and the split by source type.

Times are sent as Beijing wall-clock milliseconds and drawn with ``useUTC``, so the axis reads in Beijing
time whatever the browser's time zone, like every other time in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.console.render import SOURCE_KIND_LABELS
from api.incident_view import IncidentDetail
from yuqing.clock import CN_TZ

DEFAULT_BUCKET = timedelta(minutes=10)
# a slice's colour by source type; incident.css gives the list's swatches (.src-<kind>) the same colours
SOURCE_COLORS = {"news": "#0b4f8a", "gov": "#1f8a4c", "forum": "#e0661a", "social": "#7b1fa2"}
OTHER_COLOR = "#9aa6b2"


def wall_ms(t: datetime) -> int:
    """``t`` as Beijing wall-clock time, in milliseconds of a UTC-labelled epoch (for ``useUTC``)."""
    return int(t.astimezone(CN_TZ).replace(tzinfo=UTC).timestamp() * 1000)


def _marks(detail: IncidentDetail) -> dict[str, Any]:
    releases = detail.alert.releases if detail.alert is not None else []
    effect = detail.effect
    windows = []
    if effect is not None and effect.before is not None and effect.after is not None:
        windows = [
            {"name": "回应前", "from": wall_ms(effect.before.start), "to": wall_ms(effect.before.end)},
            {"name": "回应后", "from": wall_ms(effect.after.start), "to": wall_ms(effect.after.end)},
        ]
    return {
        "releases": [
            {"at": wall_ms(r.released_at), "kind": r.kind, "label": r.label,
             "time": r.released_at.astimezone(CN_TZ).strftime("%m-%d %H:%M")}
            for r in releases
        ],
        "windows": windows,
    }


def trend_charts(detail: IncidentDetail) -> dict[str, dict[str, Any]]:
    """``heat_chart`` and ``sentiment_chart``: per-bucket values at the bucket's middle, the release lines
    and effect windows of both, and an x range wide enough to show every mark."""
    series = detail.series
    if not series:
        return {"heat_chart": {}, "sentiment_chart": {}}
    width = series[1].start - series[0].start if len(series) > 1 else DEFAULT_BUCKET
    times = [wall_ms(p.start + width / 2) for p in series]
    marks = _marks(detail)
    edges = [wall_ms(series[0].start), wall_ms(series[-1].start + width)]
    edges += [r["at"] for r in marks["releases"]]
    edges += [t for w in marks["windows"] for t in (w["from"], w["to"])]
    pad = max((max(edges) - min(edges)) // 20, int(width.total_seconds() * 1000) // 2)
    shared = {"times": times, "range": [min(edges) - pad, max(edges) + pad], "marks": marks}
    return {
        "heat_chart": {
            **shared,
            "posts": [p.posts for p in series],
            "heat": [round(p.heat, 1) for p in series],
        },
        "sentiment_chart": {
            **shared,
            **{k: [getattr(p, k) for p in series] for k in ("negative", "neutral", "positive")},
        },
    }


def source_chart(detail: IncidentDetail) -> dict[str, Any]:
    """The source-type split as pie slices, Chinese names."""
    items = [
        {"name": SOURCE_KIND_LABELS.get(s.kind, s.kind), "value": s.posts,
         "itemStyle": {"color": SOURCE_COLORS.get(s.kind, OTHER_COLOR)}}
        for s in detail.sources
    ]
    return {"items": items}
