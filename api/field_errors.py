"""Validation errors as Chinese sentences that name the field (「开始日期」不是有效的日期…).

The API keeps the per-field list (``loc``/``msg``/``type``) in its RFC 9457 problem; the ``detail`` and every
console page show these sentences instead of pydantic's English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# field name (the last part of an error's location) → what the form calls it
FIELD_LABELS: dict[str, str] = {
    # search
    "q": "关键词",
    "start": "开始日期",
    "end": "结束日期",
    "sentiment": "情感",
    "sort": "排序",
    "page": "页码",
    "size": "每页条数",
    "source": "信源",
    "category": "分类",
    "location": "地区",
    "relevant_only": "只看相关",
    # alert actions
    "department_id": "转派部门",
    "reason": "理由",
    "link": "发布链接",
    "evidence": "发布说明",
    "note": "说明",
    "text": "回应口径",
    "approved_by": "审定人",
    "approved_at": "审定时间",
    "role": "发声人身份",
    "name": "姓名",
    "supervisor": "督办领导",
    "minutes": "暂缓时长",
    "review": "复盘",
    "into_id": "并入预警编号",
    "kind": "类型",
    "level": "预警级别",
    # pages and lists
    "view": "视图",
    "status": "状态",
    "statuses": "状态",
    "levels": "级别",
    "limit": "条数",
    "offset": "起始位置",
    "task": "标注项目",
    "label": "标签",
    "password": "密码",
    "display_name": "姓名",
    "alert_id": "预警编号",
    "incident_id": "事件编号",
    "post_id": "帖子编号",
    "notification_id": "通知编号",
}
LOCATION_LABELS = {"query": "查询参数", "body": "表单", "path": "地址", "header": "请求头", "cookie": "凭据"}


def field_label(loc: Iterable[Any], labels: Mapping[str, str] | None = None) -> str:
    """The Chinese name of the field an error's location points at (its last named part)."""
    names = [str(p) for p in loc if not isinstance(p, int)]
    table = {**FIELD_LABELS, **(labels or {})}
    for name in reversed(names):
        if name in table:
            return table[name]
    if names and names[-1] not in LOCATION_LABELS:
        return names[-1]
    return LOCATION_LABELS.get(names[-1], "请求") if names else "请求"


def _choice_labels() -> dict[str, str]:
    from api.console.labels import EMOTION_LABELS, SENTIMENT_LABELS, SORT_LABELS, SOURCE_KIND_LABELS
    from yuqing.domain import DEADLINE_LABELS, RELEASE_KINDS, SPEAKER_ROLES, STATUS_LABELS

    return {
        **STATUS_LABELS, **DEADLINE_LABELS, **RELEASE_KINDS, **SPEAKER_ROLES, **SOURCE_KIND_LABELS,
        **EMOTION_LABELS, **SORT_LABELS, **SENTIMENT_LABELS, "true": "是", "false": "否",
    }


def _choices(ctx: Mapping[str, Any]) -> str:
    """The allowed values, in Chinese where they have a label."""
    expected = str(ctx.get("expected", "")).replace(" or ", ", ")
    labels = _choice_labels()
    values = [v.strip().strip("'") for v in expected.split(",") if v.strip()]
    if not all(v in labels for v in values):
        return ""  # codes without a Chinese name are not worth listing to a reader
    return "、".join(labels[v] for v in values)


# error kinds whose sentence needs nothing but the field's name: exact kinds, then kinds by prefix
_PLAIN: dict[str, str] = {
    "missing": "{field}必须填写",
    "int_parsing": "{field}须为整数",
    "int_from_float": "{field}须为整数",
    "int_type": "{field}须为整数",
    "float_parsing": "{field}须为数字",
    "float_type": "{field}须为数字",
    "decimal_parsing": "{field}须为数字",
    "too_long": "{field}的项数不对",
    "too_short": "{field}的项数不对",
}
_PLAIN_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("datetime", "date", "time"), "{field}不是有效的日期或时间，请按 年-月-日（如 2026-03-01）填写"),
    (("bool",), "{field}须为“是”或“否”"),
    (("url",), "{field}须为以 http:// 或 https:// 开头的网址"),
)


def _plain_sentence(kind: str) -> str | None:
    if kind in _PLAIN:
        return _PLAIN[kind]
    return next((text for prefixes, text in _PLAIN_PREFIXES if kind.startswith(prefixes)), None)


def _bound_sentence(kind: str, ctx: Mapping[str, Any], field: str) -> str | None:
    """Numbers out of range: 不小于 / 大于 / 不大于 / 小于 the bound."""
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt", ""))
        return f"{field}须{'不小于' if kind == 'greater_than_equal' else '大于'} {bound}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt", ""))
        return f"{field}须{'不大于' if kind == 'less_than_equal' else '小于'} {bound}"
    return None


def _context_sentence(error: Mapping[str, Any], kind: str, ctx: Mapping[str, Any], field: str) -> str:
    """The kinds whose sentence uses the error's context (choices, lengths, bounds, a Chinese message)."""
    if kind in ("literal_error", "enum"):
        choices = _choices(ctx)
        return f"{field}的值无效" + (f"，可选：{choices}" if choices else "")
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return f"{field}不能为空" if least <= 1 else f"{field}至少 {least} 个字"
    if kind == "string_too_long":
        return f"{field}最多 {ctx.get('max_length', '')} 个字"
    bound = _bound_sentence(kind, ctx, field)
    if bound is not None:
        return bound
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if any("\u4e00" <= c <= "\u9fff" for c in message):
            return f"{field}：{message}"
    return f"{field}填写有误"


def sentence(
    error: Mapping[str, Any], labels: Mapping[str, str] | None = None, *, with_path: bool = False
) -> str:
    """One error as a Chinese sentence naming its field (and, for API clients, the parameter's path)."""
    field = f"「{field_label(error.get('loc', ()), labels)}」"
    if with_path:
        path = ".".join(str(p) for p in error.get("loc", ()) if p not in LOCATION_LABELS)
        field += f"（{path}）" if path else ""
    kind = str(error.get("type", ""))
    plain = _plain_sentence(kind)
    if plain is not None:
        return plain.replace("{field}", field)
    return _context_sentence(error, kind, error.get("ctx") or {}, field)


def describe(
    errors: Iterable[Mapping[str, Any]],
    labels: Mapping[str, str] | None = None,
    *,
    limit: int = 5,
    with_paths: bool = False,
) -> str:
    """Every error (up to ``limit``) as one Chinese text, each field named once."""
    seen: list[str] = []
    for error in errors:
        text = sentence(error, labels, with_path=with_paths)
        if text not in seen:
            seen.append(text)
    if not seen:
        return "请求有误"
    more = f"；另有 {len(seen) - limit} 处有误" if len(seen) > limit else ""
    return "；".join(seen[:limit]) + more + "。"
