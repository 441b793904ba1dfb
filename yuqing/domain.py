"""The words of the 政务舆情 response domain, each with its Chinese label, in one place.

Deadline kinds, incident kinds, alert statuses and actions, release kinds and who speaks: the clocks
(alerting.clocks), the state machine (alerting.state), the rules, the notifications (alerting.outbox), the
API and the console all read them from here. Adding a deadline kind means one ``DEADLINES`` entry here
plus its line in ``alerting/config/policies.yaml`` (``deadlines:``; ``applies:`` says which alerts get it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

# --- deadline kinds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineKindDef:
    label: str  # the one Chinese name: clocks, notifications, reports, the console
    hours: float | None = None  # default wall-clock time allowed (policies.yaml overrides it)
    working_days: int | None = None  # default working days allowed (policies.yaml overrides it)
    met_by: Literal["info", "press"] = "info"  # the action that meets it: 信息发布/答复, or 新闻发布会
    source: str = ""


DEADLINES: dict[str, DeadlineKindDef] = {
    "authoritative_info": DeadlineKindDef(
        "权威信息发布", hours=5, source="重大突发事件 5 小时内发布权威信息（国办发〔2016〕61号）"
    ),
    "press_conference": DeadlineKindDef(
        "新闻发布会", hours=24, met_by="press", source="24 小时内举行新闻发布会（国办发〔2016〕61号）"
    ),
    "response": DeadlineKindDef("回应", hours=48, source="重要政务舆情 48 小时内回应（国办发〔2016〕61号）"),
    "message_reply": DeadlineKindDef("留言答复", working_days=3, source="留言咨询 3 个工作日内答复"),
    "policy_interpretation": DeadlineKindDef(
        "政策解读", working_days=3, source="政策文件公开后 3 个工作日内发布解读"
    ),
    "reprint": DeadlineKindDef("政策转载", hours=24, source="重要政策 24 小时内在政府网站转载"),
}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    DeadlineKind = str
else:
    DeadlineKind = Literal[tuple(DEADLINES)]
DEADLINE_KINDS: tuple[str, ...] = tuple(DEADLINES)
DEADLINE_LABELS: dict[str, str] = {k: d.label for k, d in DEADLINES.items()}
INFO_KINDS: tuple[str, ...] = tuple(k for k, d in DEADLINES.items() if d.met_by == "info")
PRESS_KINDS: tuple[str, ...] = tuple(k for k, d in DEADLINES.items() if d.met_by == "press")
DEADLINE_STATE_LABELS = {"open": "计时中", "met": "已完成", "breached": "已超时", "stopped": "已停止"}

# --- incident kinds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentKindDef:
    label: str
    deadlines: tuple[str, ...] = ()  # its own deadlines by default (policies.yaml applies.incident_kinds)


INCIDENT_KINDS: dict[str, IncidentKindDef] = {
    "opinion": IncidentKindDef("政务舆情"),
    "message": IncidentKindDef("留言咨询", ("message_reply",)),
    "policy": IncidentKindDef("政策文件", ("policy_interpretation",)),
    "key_policy": IncidentKindDef("重要政策", ("reprint",)),  # a central / provincial key policy: 转载
}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    IncidentKind = str
else:
    IncidentKind = Literal[tuple(INCIDENT_KINDS)]
INCIDENT_KIND_LABELS: dict[str, str] = {k: d.label for k, d in INCIDENT_KINDS.items()}

# --- alert statuses and actions -------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    INFO_PUBLISHED = "info_published"
    PRESS_CONFERENCE_HELD = "press_conference_held"
    CLOSED = "closed"
    SNOOZED = "snoozed"
    SUPERVISED = "supervised"
    MERGED = "merged"


STATUS_LABELS: dict[str, str] = {
    "new": "待签收",
    "acknowledged": "已签收",
    "responding": "处置中",
    "info_published": "已发布权威信息",
    "press_conference_held": "已召开发布会",
    "closed": "已办结",
    "snoozed": "暂缓提醒",
    "supervised": "督办中",
    "merged": "已合并",
}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    StatusName = str
else:
    StatusName = Literal[tuple(s.value for s in Status)]


class Action(StrEnum):
    """The state machine's actions (alerting.state), also the audit-log names of those actions."""

    ACKNOWLEDGE = "acknowledge"
    START_RESPONSE = "start_response"
    PUBLISH_INFO = "publish_info"
    HOLD_PRESS_CONFERENCE = "hold_press_conference"
    CLOSE = "close"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"
    SUPERVISE = "supervise"
    MERGE = "merge"
    REOPEN = "reopen"  # the level rose
    ACK_TIMEOUT = "ack_timeout"  # acknowledged, nothing followed: back to new
    REASSIGN = "reassign"  # keeps the state
    RELEASE = "release"  # 持续发布: a later release on the timeline; keeps the state
    RESPONSE_LINE = "response_line"  # 回应口径 agreed and approved; keeps the state
    SPOKESPERSON = "spokesperson"  # who spoke (新闻发言人 / 主要负责人); keeps the state


# what officers do (API / console action names) and what the audit log records, in Chinese
ACTION_LABELS: dict[str, str] = {
    "acknowledge": "签收",
    "start_response": "开始处置",
    "reassign": "转派",
    "return": "退回值班室",
    "info_published": "记录权威信息发布",
    "press_conference": "记录新闻发布会",
    "release": "记录持续发布",
    "response_line": "记录回应口径",
    "spokesperson": "记录发声人",
    "supervise": "督办",
    "snooze": "暂缓提醒",
    "unsnooze": "恢复提醒",
    "close": "办结（复盘）",
    "merge": "合并",
    # audit-log action names written by alerting
    "publish_info": "记录权威信息发布",
    "hold_press_conference": "记录新闻发布会",
    "merged_in": "并入",
    "created": "生成预警",
    "alert_created": "生成预警",
    "level_raised": "级别上调",
    "deadline_breached": "时限超时",
    "deadline_recomputed": "时限重算",
    "raised": "升级",
    "reopen": "重新打开",
    "ack_timeout": "签收超时",
    # console confirmations of 人工研判
    "manual_created": "人工研判生成预警",
    "manual_raised": "人工研判上调级别",
    # 留言 cases (alerting.message_reply)
    "message_replied": "网站已答复留言",
    "reply_unmatched": "答复无法对应",
    "input_problem": "输入问题",
    # 会商 and assignment by the rules (alerting.consult, alerting.reassign)
    "consult": "会商（牵头与协办）",
    "reassigned_by_rules": "按规则重新分派",
    # reports (reports/review.py)
    "review_saved": "填写复盘",
}

# --- 持续发布 and 发声 -------------------------------------------------------------------------------------

RELEASE_KINDS: dict[str, str] = {
    "authoritative_info": "权威信息",
    "progress": "进展通报",
    "press_conference": "发布会",
    "message_reply": "留言答复",  # the board's official reply to a 留言, found by the crawler
}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    ReleaseKind = str
else:
    ReleaseKind = Literal[tuple(RELEASE_KINDS)]

SPEAKER_ROLES: dict[str, str] = {"spokesperson": "新闻发言人", "principal": "主要负责人"}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    SpeakerRole = str
else:
    SpeakerRole = Literal[tuple(SPEAKER_ROLES)]

# --- the policy register (alerting.policies_register) ----------------------------------------------------

# who issued a policy: a local policy needs its 解读 (policy_interpretation), a central or provincial key
# policy its 转载 on the portal (reprint)
POLICY_LEVELS: dict[str, str] = {"central": "中央", "provincial": "省级", "local": "本地"}
if TYPE_CHECKING:  # a Literal built from the table above: pydantic checks it, mypy reads str
    PolicyLevel = str
else:
    PolicyLevel = Literal[tuple(POLICY_LEVELS)]

# --- reports (reports/) -----------------------------------------------------------------------------------

REPORT_KINDS: dict[str, str] = {"daily": "舆情日报", "weekly": "舆情周报"}  # stored once per period

# --- reassignments (alerting.assignments, table alert_assignments) ---------------------------------------

# why an alert's lead department changed: a person's 转派, a department's 退回值班室, the lead of a 会商,
# or the rules after the level or the incident changed. 考核 counts all but the rules' moves.
ASSIGNMENT_KINDS: dict[str, str] = {
    "manual": "转派",
    "return": "退回值班室",
    "consult": "会商牵头",
    "rules": "按规则改派",
}
