"""Console pages (server-rendered, Chinese): login, search, posts and label correction."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from api.auth.login import attempt_login
from api.auth.roles import Role
from api.auth.sessions import SessionData
from api.console.labels import ConsoleLabels
from api.console.render import cn_time, render
from api.console.search_form import SearchFormError, highlight_terms, search_form
from api.deps import DB, Now, Principal, State, browser_session, console_user
from api.problems import ProblemError
from api.routes.auth import client_ip, end_browser_session, start_session
from api.routes.labels import fetch_post, label_in, save_correction
from api.routes.search import SearchParams, run_search
from api.schemas import LabelTask
from yuqing.db.models import LabelCorrection

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {
    Role.ADMIN: "/board",
    Role.DUTY_OFFICER: "/board",
    Role.DEPARTMENT: "/department",
    Role.LEADER: "/leader",
    Role.ANALYST: "/search",
}
KNOWN_CATEGORIES = ("城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输")
FACET_LABELS = {
    "category": "分类",
    "sentiment": "情感",
    "source_id": "信源",
    "location_code": "地区",
    "source_kind": "信源类型",
}
FACET_PARAMS = {
    "category": "category",
    "sentiment": "sentiment",
    "source_id": "source",
    "location_code": "location",
}


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next_url": safe_next(next)})


@router.post("/login")
async def login_submit(
    request: Request,
    session: DB,
    now: Now,
    name: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    browser: SessionData = browser_session(request)
    context = {"next_url": safe_next(next), "name": name}
    if not csrf_token or csrf_token != browser.csrf:
        return render(request, "login.html", {**context, "error": "页面已过期，请重新登录"}, status_code=403)
    try:
        user = attempt_login(session, name, password, client_ip(request), now=now)
    except ProblemError as exc:
        return render(
            request,
            "login.html",
            {**context, "error": exc.detail},
            status_code=exc.status,
            headers=exc.headers,
        )
    start_session(session, browser, user, now=now)
    session.commit()  # before the cookie reaches the browser
    target = safe_next(next)
    return see_other(HOME_BY_ROLE[Role(user.role)] if target == "/" else target)


@router.post("/logout")
async def logout(request: Request, session: DB, principal: Principal = console_user()) -> Response:
    end_browser_session(session, browser_session(request))
    session.commit()
    return see_other("/login")


@router.get("/")
def home(principal: Principal = console_user()) -> Response:
    return see_other(HOME_BY_ROLE[principal.role])


def _with(params: SearchParams, **changes: object) -> str:
    values = {k: v for k, v in vars(params).items() if v not in (None, "", [], False)}
    values.update({k: v for k, v in changes.items()})
    values = {k: v for k, v in values.items() if v not in (None, "", [], False)}
    if values.get("page") == 1:
        values.pop("page")
    if values.get("size") == 20:
        values.pop("size")
    if values.get("sort") == "relevance":
        values.pop("sort")
    for key in ("start", "end"):
        if key in values and not isinstance(values[key], str):
            values[key] = values[key].isoformat()
    return "/search?" + urlencode(values, doseq=True)


def _facet_groups(
    params: SearchParams, facets: dict[str, list], labels: ConsoleLabels, dates: dict[str, str | None]
) -> list[dict[str, object]]:
    groups: list[dict[str, object]] = []
    for name, label in FACET_LABELS.items():
        param = FACET_PARAMS.get(name)
        buckets: list[dict[str, object]] = []
        for bucket in facets.get(name, []):
            active = param is not None and bucket.value in (getattr(params, param) or [])
            href = None
            if param:
                chosen = list(getattr(params, param) or [])
                chosen = [v for v in chosen if v != bucket.value] if active else [*chosen, bucket.value]
                href = _with(params, **{param: chosen, "page": 1}, **dates)
            buckets.append({
                "label": labels.facet(name, bucket.value),
                "title": labels.facet_title(name, bucket.value),
                "count": bucket.count,
                "href": href,
                "active": active,
            })
        groups.append({"label": label, "buckets": buckets})
    return groups


@router.get("/search")
def search_page(
    request: Request,
    state: State,
    principal: Principal = console_user("search"),
) -> Response:
    try:
        form = search_form(request.query_params)
    except SearchFormError as exc:
        refused = {"nav": "search", "params": SearchParams(q=exc.q), "start_date": "", "end_date": "",
                   "error": exc.detail}
        return render(request, "search.html", refused, status_code=422)
    params = form.params
    context: dict[str, object] = {
        "nav": "search",
        "params": params,
        "start_date": form.start_date,
        "end_date": form.end_date,
    }
    try:
        result = run_search(state, params)
    except ProblemError as exc:
        return render(request, "search.html", {**context, "error": exc.detail}, status_code=exc.status)
    context.update(
        result=result,
        highlight_terms=highlight_terms(params.q),
        facet_groups=_facet_groups(params, result.facets, ConsoleLabels(state), form.dates),
        histogram={
            "labels": [cn_time(b.start, "%m-%d") for b in result.histogram],
            "values": [b.count for b in result.histogram],
        },
        prev_href=_with(params, page=params.page - 1, **form.dates) if params.page > 1 else None,
        next_href=(
            _with(params, page=params.page + 1, **form.dates)
            if params.page * params.size < result.total
            else None
        ),
    )
    return render(request, "search.html", context)


@router.get("/posts/{post_id}")
def post_page(
    request: Request,
    post_id: str,
    state: State,
    session: DB,
    saved: str = "",
    principal: Principal = console_user("search"),
) -> Response:
    post = fetch_post(state, post_id)
    corrections = session.scalars(
        select(LabelCorrection).where(LabelCorrection.post_id == post_id).order_by(LabelCorrection.id.desc())
    ).all()
    return render(
        request,
        "post.html",
        {
            "post": post,
            "corrections": corrections,
            "categories": KNOWN_CATEGORIES,
            "flash": "已保存纠错，将用于下一次训练" if saved else None,
        },
    )


@router.post("/posts/{post_id}/labels")
async def post_label_submit(
    request: Request,
    post_id: str,
    state: State,
    session: DB,
    now: Now,
    task: Annotated[LabelTask, Form()],
    label: Annotated[str, Form(min_length=1, max_length=40)],
    principal: Principal = console_user("labels.correct"),
) -> Response:
    body = label_in(task, label)
    post = fetch_post(state, post_id)
    save_correction(session, post, body, principal, now=now, channel="console")
    session.commit()
    return see_other(f"/posts/{post_id}?saved=1")
