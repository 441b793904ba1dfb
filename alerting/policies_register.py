"""The policy register (政策文件登记): every policy document, and the case its publication opens.

Policies enter from a source of kind ``policy`` (a government 政策文件 page: the ``policies`` stage,
alerting.policy_worker) or by hand (``yuqing policies add``). One row per policy address; a policy seen
again changes nothing. What each policy needs (yuqing.domain ``DEADLINES``, times in policies.yaml):

- a **local** policy (本地) needs its 解读 published within 3 working days: a 政策解读 case (incident kind
  ``policy``, deadline ``policy_interpretation``), with the issuing department when the directory lists it;
- a **central or provincial key policy** (中央/省级重要政策) needs 转载 on the portal within 24 hours of its
  publication: a 转载 case (incident kind ``key_policy``, deadline ``reprint``) for the portal's operator;
- a central or provincial policy that is not key is kept in the register without a case, and so is a
  crawled policy published more than 30 days before it was first seen (a 政策文件 page lists old policies
  too; their clocks ran out before anyone could see them) — with that said in its problem.

A case is an alert like any other (alerting.intake.create_alert): a department by 属地管理 and 谁主管谁负责,
its clock from the publication, reminders and escalation, evidence links (recording the 解读 or 转载 as
权威信息 with its link meets the clock) and 考核. Its incident row (kind ``policy`` / ``key_policy``) holds
the policy's title, place and time, so the console shows the case like every other.

By hand (``strict``) a policy without a title, address or publication time, with a time in the future
or an unknown level is refused with the reason. From a crawled page nothing is lost: a page without a date
or with a date in the future opens its case from the time it was fetched, and the problem is kept with the
policy and shown in the register.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.intake import Cause, IntakeContext, create_alert
from alerting.models import Alert, AlertDeadline
from alerting.policy_models import PolicyRow
from incidents.mapping import row_from_incident
from yuqing import audit
from yuqing.clock import CN_TZ
from yuqing.domain import DEADLINE_LABELS, POLICY_LEVELS, STATUS_LABELS
from yuqing.schemas import Incident, Location

REGISTER_RULE = "policy_register"  # the alert's matched rule: opened by the register, not by a rule
CASE_LEVEL = "一般"  # a policy case has no emergency level of its own; a duty officer may raise it
PORTAL_DEPARTMENT_TYPE = "政府办公室"  # runs the portal (转载); absent from a directory: its duty office
BACKLOG = timedelta(days=30)  # a crawled policy older than this when first seen opens no case
_CENTRAL_WORDS = ("国务院", "中共中央", "全国人民代表大会", "全国人大", "中央")
_PROVINCIAL_WORDS = ("省", "自治区")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")  # their 市 is a provincial-level government


class PolicyRefused(ValueError):
    """The policy cannot be registered; the message says why, in Chinese."""


@dataclass(frozen=True)
class PolicyEntry:
    """A policy as it enters: from a page (``source_id`` set) or from an officer."""

    title: str
    url: str
    published_at: datetime | None
    level: str | None = None  # None: from the issuer's name (level_of_issuer)
    key: bool | None = None  # None: central and provincial policies count as key (重要政策)
    issuer: str | None = None
    region: str | None = None  # whose portal / whose policy; None: the issuer's region, else home region
    category: str | None = None
    department_type: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class RegisterResult:
    outcome: Literal["created", "kept", "seen"]  # kept: registered without a case (a non-key policy)
    policy: PolicyRow


def url_key(url: str) -> str:
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def level_of_issuer(issuer: str | None) -> str | None:
    """central / provincial / local from the issuing body's name (国务院… / …省… / the rest); None unknown."""
    if not issuer:
        return None
    name = issuer.strip()
    if name.startswith(_CENTRAL_WORDS) or name.startswith("国家") or (
        name.endswith(("部", "委员会", "总局", "署")) and not any(w in name for w in ("省", "市", "县", "区"))
    ):
        return "central"
    if name.startswith(_MUNICIPALITIES) or any(w in name[:8] for w in _PROVINCIAL_WORDS):
        return "provincial"
    return "local"


def deadline_for(level: str, key: bool) -> str | None:
    """The clock a policy needs: 解读 for a local one, 转载 for a central / provincial key one, else none."""
    if level == "local":
        return "policy_interpretation"
    return "reprint" if key else None


def check_entry(
    entry: PolicyEntry, now: datetime, *, strict: bool
) -> tuple[PolicyEntry, datetime, list[str]]:
    """The entry cleaned, when its clock starts, and the problems kept with it (strict: refused instead)."""
    problems: list[str] = []
    title, url = (entry.title or "").strip(), (entry.url or "").strip()
    if not url:
        raise PolicyRefused("缺少政策文件链接（--url）")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise PolicyRefused(f"链接 {url!r} 不是 http(s) 地址")
    if not title:
        if strict:
            raise PolicyRefused("缺少政策文件标题（--title）")
        title = "（无标题）"
        problems.append("页面没有标题")
    if entry.level is not None and entry.level not in POLICY_LEVELS:
        raise PolicyRefused(
            f"层级 {entry.level!r} 无效，应为 " + "、".join(f"{k}（{v}）" for k, v in POLICY_LEVELS.items())
        )
    published = entry.published_at
    start = now
    if published is None:
        if strict:
            raise PolicyRefused("缺少发布时间（--published-at）")
        problems.append(f"页面没有发布日期：时限自抓取时间 {_cn(now)} 起算")
    elif published.tzinfo is None:
        raise PolicyRefused("发布时间须带时区")
    elif published > now:
        if strict:
            raise PolicyRefused(f"发布时间 {_cn(published)} 晚于当前时间 {_cn(now)}：政策尚未发布，不能登记")
        problems.append(f"发布日期 {_cn(published)} 晚于抓取时间：时限自抓取时间 {_cn(now)} 起算")
    else:
        start = published
    level = entry.level or level_of_issuer(entry.issuer)
    if level is None:
        level = "local"
        if not strict:
            problems.append("发文机关不明：按本地政策处理")
    return replace(entry, title=title, url=url, level=level), start, problems


def register_policy(
    session: Session,
    entry: PolicyEntry,
    ctx: IntakeContext,
    *,
    now: datetime,
    actor: str,
    channel: audit.Channel,
    strict: bool,
) -> RegisterResult:
    """Register one policy and open the case it needs, in the caller's transaction (idempotent by url)."""
    entry, start, problems = check_entry(entry, now, strict=strict)
    key_hash = url_key(entry.url)
    existing = session.scalar(select(PolicyRow).where(PolicyRow.url_key == key_hash).with_for_update())
    if existing is not None:
        return RegisterResult("seen", existing)
    assert entry.level is not None
    key = entry.key if entry.key is not None else entry.level != "local"
    kind = deadline_for(entry.level, key)
    if kind and not strict and entry.published_at and now - entry.published_at > BACKLOG:
        # an old policy on a page crawled for the first time: its clock ran out long before we could
        # see it, so it is registered without a case instead of opening a breached one (by hand it opens)
        problems.append(f"发布于 {_cn(entry.published_at)}，首次抓取时已超过 {BACKLOG.days} 天："
                        "仅登记，不计时")
        kind = None
    issuing = next((d for d in ctx.directory.departments if entry.issuer and d.name == entry.issuer.strip()),
                   None)
    region = entry.region or (issuing.region if issuing else None) or ctx.directory.config.home_region
    row = PolicyRow(
        url_key=key_hash, url=entry.url, title=entry.title, issuer=entry.issuer, level=entry.level,
        key_policy=key, region_code=region, published_at=entry.published_at, clock_start=start,
        deadline_kind=kind, source_id=entry.source_id, entered_by=actor, entered_at=now,
        problem="；".join(problems) or None,
    )
    session.add(row)
    session.flush()
    if kind is not None:
        alert = _open_case(session, row, entry, kind, issuing.type if issuing else None, ctx, now, actor,
                           channel)
        row.incident_id, row.alert_id = alert.incident_id, alert.id
    audit.record(
        session, at=now, actor=actor, channel=channel, action="policy_registered", object_type="policy",
        object_id=str(row.id), reason=row.problem,
        details={"url": row.url, "level": row.level, "key": key, "deadline": kind, "alert_id": row.alert_id},
    )
    return RegisterResult("created" if kind else "kept", row)


def _open_case(
    session: Session,
    row: PolicyRow,
    entry: PolicyEntry,
    kind: str,
    issuer_type: str | None,
    ctx: IntakeContext,
    now: datetime,
    actor: str,
    channel: audit.Channel,
) -> Alert:
    """The policy's incident row and its alert, assigned by 属地管理 and 谁主管谁负责."""
    department_type: str | None
    if kind == "reprint":
        department_type, incident_kind = PORTAL_DEPARTMENT_TYPE, "key_policy"
        why = f"{POLICY_LEVELS[row.level]}重要政策，须 24 小时内在政府网站转载"
    else:
        department_type, incident_kind = issuer_type or entry.department_type, "policy"
        why = "本地政策文件，须 3 个工作日内发布解读"
    region = row.region_code or ctx.directory.config.home_region or ""
    place = ctx.directory.config.regions.get(region) or region
    incident = Incident(
        id=f"policy-{row.url_key[:24]}",
        title=row.title,
        keywords=[w for w in (entry.issuer, DEADLINE_LABELS[kind]) if w],
        first_seen=row.clock_start,
        last_seen=row.clock_start,
        category=entry.category,
        department_type=department_type,
        locations=[Location(name=place, code=region)],
        post_count=1 if entry.source_id else 0,
        source_count=1 if entry.source_id else 0,
        kind=incident_kind,
        version=1,
    )
    session.add(row_from_incident(incident, now))
    session.flush()
    origin = f"来源 {entry.source_id}" if entry.source_id else "人工登记"
    cause = Cause(actor=actor, channel=channel, reason=f"政策文件登记（{origin}）：{why}；{row.url}")
    return create_alert(session, incident, CASE_LEVEL, (REGISTER_RULE,), ctx, now, cause)


@dataclass(frozen=True)
class PolicyView:
    """One register row with its case, as ``yuqing policies list`` and the API show it."""

    id: int
    title: str
    url: str
    issuer: str | None
    level: str
    level_label: str
    key: bool
    region: str | None
    published_at: str | None
    clock_start: str
    source: str
    problem: str | None
    deadline: str | None
    deadline_label: str | None
    alert_id: int | None
    due_at: str | None
    deadline_state: str | None
    status: str | None
    status_label: str | None
    department: str | None
    department_id: str | None

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def list_policies(session: Session, *, limit: int = 200) -> list[PolicyView]:
    """The register, newest first, with each case's clock and department."""
    rows = session.execute(
        select(PolicyRow, Alert, AlertDeadline)
        .outerjoin(Alert, Alert.id == PolicyRow.alert_id)
        .outerjoin(
            AlertDeadline,
            (AlertDeadline.alert_id == PolicyRow.alert_id) & (AlertDeadline.kind == PolicyRow.deadline_kind),
        )
        .order_by(PolicyRow.entered_at.desc(), PolicyRow.id.desc())
        .limit(limit)
    ).all()
    out = []
    for policy, alert, deadline in rows:
        out.append(PolicyView(
            id=policy.id, title=policy.title, url=policy.url, issuer=policy.issuer, level=policy.level,
            level_label=POLICY_LEVELS.get(policy.level, policy.level), key=policy.key_policy,
            region=policy.region_code,
            published_at=policy.published_at.astimezone(CN_TZ).isoformat() if policy.published_at else None,
            clock_start=policy.clock_start.astimezone(CN_TZ).isoformat(),
            source=policy.source_id or f"人工登记（{policy.entered_by}）", problem=policy.problem,
            deadline=policy.deadline_kind,
            deadline_label=DEADLINE_LABELS.get(policy.deadline_kind) if policy.deadline_kind else None,
            alert_id=policy.alert_id,
            due_at=deadline.due_at.astimezone(CN_TZ).isoformat() if deadline else None,
            deadline_state=_state(deadline),
            status=alert.status if alert else None,
            status_label=STATUS_LABELS.get(alert.status) if alert else None,
            department=alert.department_name if alert else None,
            department_id=alert.department_id if alert else None,
        ))
    return out


def _state(deadline: AlertDeadline | None) -> str | None:
    if deadline is None:
        return None
    if deadline.breached_at is not None:  # also when it was met late
        return "breached"
    if deadline.met_at is not None:
        return "met"
    return "stopped" if deadline.stopped_at is not None else "open"


def _cn(at: datetime) -> str:
    return at.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M")
