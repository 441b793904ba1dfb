"""The policy register (政策文件登记): list it, or register a policy by hand (alerting.policies_register)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import DB, Now, Principal, State, api_user
from api.problems import ProblemError
from api.schemas import NO_NUL

router = APIRouter(prefix="/policies", tags=["policies"])


class PolicyOut(BaseModel):
    id: int
    title: str
    url: str
    issuer: str | None
    level: str = Field(description="central | provincial | local")
    level_label: str
    key: bool = Field(description="重要政策（需转载）")
    region: str | None
    published_at: str | None
    clock_start: str = Field(description="时限起算时间（发布时间；页面日期缺失或在将来时为抓取时间）")
    source: str
    problem: str | None = Field(description="登记时发现的问题（如页面无发布日期），时限照常起算")
    deadline: str | None = Field(description="policy_interpretation | reprint；无则不生成预警")
    deadline_label: str | None
    alert_id: int | None
    due_at: str | None
    deadline_state: str | None
    status: str | None
    status_label: str | None
    department: str | None
    department_id: str | None


class PolicyIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL, description="政策文件标题")]
    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL, description="发布地址 http(s)")]
    published_at: datetime = Field(description="发布时间，ISO-8601；不带时区按北京时间")
    level: Literal["central", "provincial", "local"] | None = Field(
        default=None, description="中央 / 省级 / 本地；缺省按发文机关判断，再缺省为本地")
    key: bool | None = Field(default=None, description="重要政策（需转载）；缺省：中央、省级政策为重要政策")
    issuer: Annotated[str | None, Field(default=None, max_length=120, pattern=NO_NUL, description="发文机关")]
    region: Annotated[str | None, Field(default=None, pattern=r"^\d{2,12}$", description="行政区划代码")]


class PolicyCreated(BaseModel):
    outcome: Literal["created", "kept", "seen"] = Field(
        description="created：已生成预警；kept：已登记、无需转载或解读；seen：此前已登记")
    policy: PolicyOut


@router.get("", response_model=list[PolicyOut], summary="政策文件登记簿：每份政策及其解读 / 转载预警")
def get_policies(
    session: DB,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    principal: Principal = api_user("alerts.view"),
) -> list[PolicyOut]:
    from alerting.policies_register import list_policies

    views = list_policies(session, limit=limit)
    scope = principal.department_scope
    return [PolicyOut.model_validate(v.as_json()) for v in views if scope is None or v.department_id == scope]


@router.post("", response_model=PolicyCreated, status_code=201,
             summary="登记政策文件：本地政策生成政策解读预警，中央 / 省级重要政策生成转载预警",
             responses={200: {"description": "此前已登记（同一地址）"}})
def post_policy(
    body: PolicyIn,
    state: State,
    session: DB,
    now: Now,
    response: Response,
    principal: Principal = api_user("alerts.dispatch"),
) -> PolicyCreated:
    from alerting.calendar import CalendarError
    from alerting.clocks import PolicyError
    from alerting.directory import DirectoryError, normalize_region
    from alerting.manual import intake_context
    from alerting.policies_register import PolicyEntry, PolicyRefused, list_policies, register_policy
    from alerting.rules import RulesError
    from yuqing.clock import CN_TZ, aware

    try:
        region = normalize_region(body.region) if body.region else None
    except ValueError as exc:
        raise ProblemError(422, "policy-refused", f"行政区划代码有误：{exc}") from None
    entry = PolicyEntry(title=body.title, url=body.url, published_at=aware(body.published_at, CN_TZ),
                        level=body.level, key=body.key, issuer=body.issuer, region=region)
    try:
        ctx = intake_context(session, state.settings)
    except (RulesError, DirectoryError, CalendarError, PolicyError) as exc:
        raise ProblemError(503, "alerting-config-unavailable", f"预警配置不可用：{exc}") from None
    try:
        result = register_policy(session, entry, ctx, now=now, actor=principal.name,
                                 channel=principal.channel, strict=True)
    except PolicyRefused as exc:
        raise ProblemError(422, "policy-refused", f"无法登记政策文件：{exc}") from None
    session.flush()
    view = next(v for v in list_policies(session, limit=100_000) if v.id == result.policy.id)
    if result.outcome == "seen":
        response.status_code = 200
    return PolicyCreated(outcome=result.outcome, policy=PolicyOut.model_validate(view.as_json()))
