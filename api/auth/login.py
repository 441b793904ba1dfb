"""One login attempt, rate limited per (user name, client address), per client address and overall
(``api.auth.ratelimit``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.auth.ratelimit import WINDOW, Refusal, record_attempt, refusal
from api.auth.users import check_password
from api.models import UserRow
from api.problems import ProblemError

_WHOSE = {
    "name": "该用户名在本地址",
    "address": "本地址（不论用户名）",
    "overall": "全系统",
}


def refusal_message(refused: Refusal) -> str:
    minutes = int(WINDOW.total_seconds() // 60)
    text = (
        f"{_WHOSE[refused.scope]}登录失败次数过多（{minutes} 分钟内 {refused.limit} 次），"
        f"请 {(refused.retry_after + 59) // 60} 分钟后再试"
    )
    return text + ("；如非本人操作，请联系系统管理员" if refused.scope == "overall" else "")


def attempt_login(session: Session, name: str, password: str, ip: str, *, now: datetime) -> UserRow:
    """The user, or ProblemError 401 (wrong name or password) / 429 (too many failures; Retry-After)."""
    if "\x00" in name:  # no user has one, and PostgreSQL cannot compare text holding it
        raise ProblemError(401, "bad-credentials", "用户名或密码错误")
    refused = refusal(session, name, ip, now=now)
    if refused:
        raise ProblemError(
            429,
            "login-rate-limited",
            refusal_message(refused),
            headers={"Retry-After": str(refused.retry_after)},
        )
    user = check_password(session, name, password)
    record_attempt(session, name, ip, success=user is not None, now=now)
    session.commit()
    if user is None:
        raise ProblemError(401, "bad-credentials", "用户名或密码错误")
    return user
