"""Charts as PNG images with Chinese labels (matplotlib, Agg, the Noto Sans CJK font), for the PDF,
Word and HTML renderings alike."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from yuqing.clock import CN_TZ

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC")


class FontMissing(RuntimeError):
    pass


@cache
def _pyplot() -> Any:
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.path.expanduser("~"), ".cache", "yuqing-mpl"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    family = next((f for f in CJK_FAMILIES if f in names), None)
    if family is None:
        raise FontMissing("没有找到中文字体（请安装 fonts-noto-cjk）")
    plt.rcParams["font.family"] = [family]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig: Any) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=130)
    plt.close(fig)
    return buf.getvalue()


def _time_labels(times: Sequence[datetime]) -> list[str]:
    fmt = "%m-%d %H:%M" if len({t.astimezone(CN_TZ).date() for t in times}) > 1 else "%H:%M"
    return [t.astimezone(CN_TZ).strftime(fmt) for t in times]


def _thin_ticks(ax: Any, labels: list[str], most: int = 10) -> None:
    step = max(1, len(labels) // most)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=30, ha="right", fontsize=8)


def trend(times: Sequence[datetime], posts: Sequence[int], heat: Sequence[float],
          negative: Sequence[float | None], title: str) -> bytes:
    """Posts per bucket (bars), heat (line) and negative share (line, right axis)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    x = list(range(len(times)))
    ax.bar(x, posts, color="#5b8ff9", label="发帖量")
    ax.set_ylabel("发帖量（条）")
    ax2 = ax.twinx()
    shares = [float("nan") if n is None else n * 100 for n in negative]  # no posts that hour: a gap
    ax2.plot(x, shares, color="#e8684a", marker="o", markersize=3, label="负面占比")
    ax2.set_ylabel("负面占比（%）")
    ax2.set_ylim(0, 105)
    if any(heat):
        ax3 = ax.twinx()
        ax3.spines["right"].set_position(("axes", 1.12))
        ax3.plot(x, heat, color="#5ad8a6", linestyle="--", label="热度")
        ax3.set_ylabel("热度")
        handles = [*ax.get_legend_handles_labels()[0], *ax2.get_legend_handles_labels()[0],
                   *ax3.get_legend_handles_labels()[0]]
    else:
        handles = [*ax.get_legend_handles_labels()[0], *ax2.get_legend_handles_labels()[0]]
    _thin_ticks(ax, _time_labels(times))
    ax.set_title(title)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=8,
              frameon=False)
    return _png(fig)


def bars(labels: Sequence[str], values: Sequence[float], title: str, unit: str = "条",
         horizontal: bool = True) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.2, max(2.0, 0.35 * len(labels) + 1.0) if horizontal else 3.2))
    if horizontal:
        ax.barh(list(labels)[::-1], list(values)[::-1], color="#5b8ff9")
        ax.set_xlabel(unit)
    else:
        ax.bar(list(labels), list(values), color="#5b8ff9")
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelsize=8)
    ax.set_title(title)
    return _png(fig)


def counts_trend(times: Sequence[datetime], series: dict[str, Sequence[int]], title: str, *,
                 daily: bool = True) -> bytes:
    """Counts per bucket, one group of bars per series (新增事件, 新增预警 …)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    width = 0.8 / max(1, len(series))
    colors = ("#5b8ff9", "#e8684a", "#5ad8a6", "#f6bd16")
    for n, (name, values) in enumerate(series.items()):
        ax.bar([i + n * width for i in range(len(times))], values, width=width, label=name,
               color=colors[n % len(colors)])
    fmt = "%H时" if daily else "%m-%d"
    labels = [t.astimezone(CN_TZ).strftime(fmt) for t in times]
    _thin_ticks(ax, labels, most=12 if daily else 7)
    ax.set_ylabel("数量")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _png(fig)
