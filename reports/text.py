"""How the reports write times and durations in Chinese (Beijing time)."""

from __future__ import annotations

from datetime import datetime

from yuqing.clock import CN_TZ


def cn_datetime(at: datetime | None) -> str:
    return at.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def cn_duration(seconds: float) -> str:
    """3725 → 1 小时 2 分; under a minute → 不足 1 分钟; days for long spans."""
    minutes = int(abs(seconds) // 60)
    if minutes == 0:
        return "不足 1 分钟"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} 天")
    if hours:
        parts.append(f"{hours} 小时")
    if mins and not days:
        parts.append(f"{mins} 分")
    return " ".join(parts)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"
