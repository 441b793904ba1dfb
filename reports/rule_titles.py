"""The alert rules' Chinese names (``title`` in the rules file), for 定级依据 in the 专报."""

from __future__ import annotations

from pathlib import Path


def rule_titles(path: Path | None = None) -> dict[str, str]:
    """rule name → Chinese title, from the rules file (the settings' by default); a file that cannot be
    read gives no titles (the report then shows the rule names)."""
    from alerting.rules import RulesError, load_config

    if path is None:
        from yuqing.settings import get_settings

        path = get_settings().rules_file
    try:
        config = load_config(path)
    except (RulesError, OSError):
        return {}
    return {r.name: r.title for r in config.rules if r.title}


def rule_ground(name: str, titles: dict[str, str]) -> str:
    """``预警规则：重大舆情（severity-major）``, or the bare name when the rule has no title."""
    title = titles.get(name)
    return f"预警规则：{title}（{name}）" if title else f"预警规则：{name}"
