"""The alert actions the console and the API share: who may do what, the department scope, and the
translation of alerting's errors into problem details."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy.orm import Session

from alerting import service
from alerting.consult import assisting_ids, consult
from alerting.directory import Directory, DirectoryError
from alerting.directory import load_directory as directory_of
from alerting.read_models import AlertAccess, alert_access
from alerting.state import InvalidTransition
from api.deps import Principal
from api.problems import ProblemError
from api.schemas import NO_NUL
from yuqing.domain import ACTION_LABELS, STATUS_LABELS, ReleaseKind, SpeakerRole
from yuqing.settings import Settings

ActionName = Literal[
    "acknowledge",
    "start_response",
    "reassign",
    "return",
    "info_published",
    "press_conference",
    "release",
    "response_line",
    "spokesperson",
    "supervise",
    "snooze",
    "unsnooze",
    "close",
    "merge",
    "consult",
]

PERMISSION_FOR: dict[str, str] = {
    "acknowledge": "alerts.handle",
    "start_response": "alerts.handle",
    "reassign": "alerts.dispatch",  # to any department: the duty office's call
    "return": "alerts.handle",  # a department hands the case back to the duty office, with a reason
    "info_published": "alerts.handle",
    "press_conference": "alerts.handle",
    "release": "alerts.handle",
    "response_line": "alerts.handle",
    "spokesperson": "alerts.handle",
    "snooze": "alerts.handle",
    "unsnooze": "alerts.handle",
    "supervise": "alerts.supervise",
    "close": "alerts.dispatch",
    "merge": "alerts.dispatch",
    "consult": "alerts.dispatch",  # 会商: the duty office names the lead and the 协办 departments
}

Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
Link = Annotated[
    str, Field(min_length=1, max_length=2000, pattern=NO_NUL, description="http(s) URL of the publication")
]


class NoteIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class ReassignIn(BaseModel):
    department_id: str = Field(min_length=1, max_length=60, pattern=NO_NUL)
    reason: Text


class ConsultIn(BaseModel):
    """会商: the lead department (omit to keep it) and the full list of 协办 departments."""

    lead_department_id: str | None = Field(default=None, min_length=1, max_length=60, pattern=NO_NUL)
    assisting: list[Annotated[str, Field(min_length=1, max_length=60, pattern=NO_NUL)]] = Field(
        default_factory=list,
        max_length=10,
        description="协办 department ids (a console form: comma-separated)",
    )
    reason: Text

    @field_validator("assisting", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.replace("，", ",").split(",") if p.strip()]
        return v


class ReturnIn(BaseModel):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL),
        Field(description="why the case is not this department's (kept in the audit log)"),
    ]


class EvidenceIn(BaseModel):
    link: Link
    evidence: Text = Field(description="what was published, where, by whom")


class ReleaseIn(BaseModel):
    kind: ReleaseKind = Field(
        default="progress", description="authoritative_info 权威信息, progress 进展通报, press_conference"
    )
    link: Link
    note: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL),
        Field(description="what was released, where, by whom"),
    ]


class ResponseLineIn(BaseModel):
    text: Text = Field(description="回应口径: the agreed wording of the response")
    approved_by: str = Field(min_length=1, max_length=80, pattern=NO_NUL, description="who approved it")
    approved_at: datetime | None = Field(
        default=None, description="when it was approved (default: now; without an offset: Asia/Shanghai)"
    )


class SpokespersonIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=NO_NUL, description="who spoke")
    role: SpeakerRole = Field(description="spokesperson 新闻发言人 or principal 主要负责人")
    spoke_at: datetime | None = Field(
        default=None, description="when (default: now; without an offset: Asia/Shanghai)"
    )


class SupervisionIn(BaseModel):
    reason: Text
    supervisor: str | None = Field(default=None, max_length=120, pattern=NO_NUL)


class SnoozeIn(BaseModel):
    minutes: int = Field(ge=5, le=7 * 24 * 60, description="silence reminders this long")
    reason: Text


class CloseIn(BaseModel):
    review: Text = Field(description="复盘: what happened and how it was handled")


class MergeIn(BaseModel):
    into_id: int = Field(ge=1, le=2**53)
    reason: Text


BODY_FOR: dict[str, type[BaseModel]] = {
    "acknowledge": NoteIn,
    "start_response": NoteIn,
    "reassign": ReassignIn,
    "return": ReturnIn,
    "info_published": EvidenceIn,
    "press_conference": EvidenceIn,
    "release": ReleaseIn,
    "response_line": ResponseLineIn,
    "spokesperson": SpokespersonIn,
    "supervise": SupervisionIn,
    "snooze": SnoozeIn,
    "unsnooze": NoteIn,
    "close": CloseIn,
    "merge": MergeIn,
    "consult": ConsultIn,
}


def not_found(alert_id: int) -> ProblemError:
    return ProblemError(404, "not-found", f"没有编号为 {alert_id} 的预警")


def visible_alert(session: Session, alert_id: int, principal: Principal, *, act: bool = False) -> AlertAccess:
    """The alert, if this user may see it; a department handler sees only its own department's and the
    ones it helps on (会商 协办), and acts only on its own (``act``)."""
    alert = alert_access(session, alert_id)
    if alert is None:
        raise not_found(alert_id)
    scope = principal.department_scope
    if scope is not None and alert.department_id != scope:
        if scope not in assisting_ids(session, alert_id):
            raise not_found(alert_id)  # the same answer as "does not exist": no probing other departments
        if act:
            raise ProblemError(
                403, "forbidden", f"本单位是该预警的协办单位，由牵头单位（{alert.department_name}）办理"
            )
    return alert


def load_directory(session: Session, settings: Settings) -> Directory:
    try:
        return directory_of(session, settings)
    except DirectoryError as exc:
        raise ProblemError(503, "directory-unavailable", f"部门目录不可用：{exc}") from None


@dataclass(frozen=True)
class _Call:
    """One action's inputs, as each handler below reads them."""

    session: Session
    settings: Settings
    alert: AlertAccess
    principal: Principal
    data: dict[str, Any]
    common: dict[str, Any]  # alert_id, actor, channel, now: what every service transition takes

    @property
    def now(self) -> datetime:
        return cast(datetime, self.common["now"])


def _return_to_duty_office(c: _Call) -> service.AlertRead:
    directory = load_directory(c.session, c.settings)
    office = directory.duty_office()
    if c.alert.department_id == office.id:
        raise ProblemError(409, "already-at-duty-office", f"本预警已在值班室（{office.name}），无需退回")
    return service.reassign(
        c.session,
        department_id=office.id,
        reason=f"退回值班室：{c.data['reason']}",
        directory=directory,
        kind="return",
        **c.common,
    )


def _merge(c: _Call) -> service.AlertRead:
    if c.principal.department_scope is not None:
        visible_alert(c.session, c.data["into_id"], c.principal)
    return service.merge(c.session, into_id=c.data["into_id"], reason=c.data["reason"], **c.common)


HANDLERS: dict[str, Callable[[_Call], service.AlertRead]] = {
    "acknowledge": lambda c: service.acknowledge(c.session, note=c.data["note"], **c.common),
    "start_response": lambda c: service.start_response(c.session, note=c.data["note"], **c.common),
    "unsnooze": lambda c: service.unsnooze(c.session, reason=c.data["note"], **c.common),
    "reassign": lambda c: service.reassign(
        c.session,
        department_id=c.data["department_id"],
        reason=c.data["reason"],
        directory=load_directory(c.session, c.settings),
        **c.common,
    ),
    "return": _return_to_duty_office,
    "info_published": lambda c: service.record_info_published(
        c.session, link=c.data["link"], evidence=c.data["evidence"], **c.common
    ),
    "press_conference": lambda c: service.record_press_conference(
        c.session, link=c.data["link"], evidence=c.data["evidence"], **c.common
    ),
    "release": lambda c: service.record_release(
        c.session, kind=c.data["kind"], link=c.data["link"], note=c.data["note"], **c.common
    ),
    "response_line": lambda c: service.record_response_line(
        c.session,
        text=c.data["text"],
        approved_by=c.data["approved_by"],
        approved_at=c.data["approved_at"],
        **c.common,
    ),
    "spokesperson": lambda c: service.record_spokesperson(
        c.session, name=c.data["name"], role=c.data["role"], spoke_at=c.data["spoke_at"], **c.common
    ),
    "supervise": lambda c: service.request_supervision(
        c.session, reason=c.data["reason"], supervisor=c.data["supervisor"], **c.common
    ),
    "snooze": lambda c: service.snooze(
        c.session, until=c.now + timedelta(minutes=c.data["minutes"]), reason=c.data["reason"], **c.common
    ),
    "close": lambda c: service.close(c.session, review=c.data["review"], **c.common),
    "consult": lambda c: consult(
        c.session,
        lead_department_id=c.data["lead_department_id"],
        assisting=c.data["assisting"],
        reason=c.data["reason"],
        directory=load_directory(c.session, c.settings),
        **c.common,
    ),
    "merge": _merge,
}


def perform(
    session: Session,
    settings: Settings,
    action: str,
    alert_id: int,
    body: BaseModel,
    principal: Principal,
    *,
    now: datetime,
) -> service.AlertRead:
    """Run one action for ``principal``; raises ProblemError 403/404/409/422 with a Chinese message."""
    handler = HANDLERS.get(action)
    if handler is None:
        raise ProblemError(404, "not-found", f"未知操作 {action}")
    if not principal.can(PERMISSION_FOR[action]):
        raise ProblemError(
            403, "forbidden", f"当前角色（{principal.role_label}）不能执行「{ACTION_LABELS[action]}」"
        )
    alert = visible_alert(session, alert_id, principal, act=True)
    common: dict[str, Any] = {
        "alert_id": alert_id,
        "actor": principal.name,
        "channel": principal.channel,
        "now": now,
    }
    try:
        return handler(_Call(session, settings, alert, principal, body.model_dump(), common))
    except service.AlertNotFound as exc:
        raise ProblemError(404, "not-found", f"预警不存在：{exc}") from None
    except InvalidTransition as exc:
        raise ProblemError(
            409,
            "invalid-transition",
            f"预警当前状态为「{STATUS_LABELS.get(alert.status, alert.status)}」，"
            f"不能执行「{ACTION_LABELS[action]}」",
        ) from exc
    except service.InvalidRequest as exc:
        raise ProblemError(422, "invalid-request", f"无法{ACTION_LABELS[action]}：{exc}") from None
