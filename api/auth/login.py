"""One login attempt, rate limited per (user name, client IP)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.auth.ratelimit import MAX_FAILURES, WINDOW, record_attempt, retry_after
from api.auth.users import check_password
from api.models import UserRow
from api.problems import ProblemError


def attempt_login(session: Session, name: str, password: str, ip: str, *, now: datetime) -> UserRow:
    """The user, or ProblemError 401 (wrong name or password) / 429 (too many failures; Retry-After)."""
    wait = retry_after(session, name, ip, now=now)
    if wait:
        raise ProblemError(
            429,
            "login-rate-limited",
            f"登录失败次数过多（{int(WINDOW.total_seconds() // 60)} 分钟内 {MAX_FAILURES} 次），"
            f"请 {(wait + 59) // 60} 分钟后再试",
            headers={"Retry-After": str(wait)},
        )
    user = check_password(session, name, password)
    record_attempt(session, name, ip, success=user is not None, now=now)
    session.commit()
    if user is None:
        raise ProblemError(401, "bad-credentials", "用户名或密码错误")
    return user
