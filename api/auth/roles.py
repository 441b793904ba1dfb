"""The five roles and what each may do. Department handlers are further scoped to their own department
in every query (see ``api.deps.AlertScope``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DUTY_OFFICER = "duty_officer"
    DEPARTMENT = "department"
    LEADER = "leader"
    ANALYST = "analyst"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.DUTY_OFFICER: "值班员",
    Role.DEPARTMENT: "部门处置人",
    Role.LEADER: "领导",
    Role.ANALYST: "分析员",
}

_ALL = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "alerts.view": _ALL,
    "alerts.handle": frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.DEPARTMENT}),
    "alerts.dispatch": frozenset({Role.ADMIN, Role.DUTY_OFFICER}),
    "alerts.supervise": frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.LEADER}),
    "search": _ALL,
    "labels.correct": frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.ANALYST}),
    "sources.view": frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.ANALYST, Role.LEADER}),
    "leader.view": frozenset({Role.ADMIN, Role.LEADER, Role.DUTY_OFFICER}),
    "department.view": frozenset({Role.ADMIN, Role.DEPARTMENT, Role.DUTY_OFFICER}),
    "performance.view": frozenset({Role.ADMIN, Role.LEADER, Role.ANALYST, Role.DUTY_OFFICER}),
    "tokens.own": _ALL,
    "users.manage": frozenset({Role.ADMIN}),
    "reports.view": frozenset({Role.ADMIN, Role.LEADER, Role.ANALYST, Role.DUTY_OFFICER}),
    "reports.review": frozenset({Role.ADMIN, Role.ANALYST, Role.DUTY_OFFICER}),
    "plans.view": _ALL,
    "plans.manage": frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.DEPARTMENT}),
}

PERMISSION_LABELS: dict[str, str] = {
    "alerts.view": "查看预警",
    "alerts.handle": "处置预警（签收、发布信息、召开发布会、暂缓、退回值班室）",
    "alerts.dispatch": "转派、合并与关闭预警",
    "alerts.supervise": "督办",
    "search": "检索",
    "labels.correct": "标注纠错",
    "sources.view": "查看信源状态",
    "leader.view": "领导视图",
    "department.view": "部门视图",
    "performance.view": "考核统计",
    "tokens.own": "管理自己的 API 令牌",
    "users.manage": "用户管理（仅系统管理员）",
    "reports.view": "报告：台账、舆情日报/周报",
    "reports.review": "填写事件复盘（问题、整改措施）",
    "plans.view": "查看监测方案",
    "plans.manage": "管理监测方案（部门只管本部门的）",
}


def allowed(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except ValueError:
        return False
