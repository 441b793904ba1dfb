"""API tokens for integrations: shown once, stored as SHA-256, sent as ``Authorization: Bearer``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import ApiTokenRow, UserRow

TOKEN_PREFIX = "yq_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: UserRow, name: str, *, now: datetime) -> tuple[ApiTokenRow, str]:
    """A new token for ``user``; the plain text is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(user_id=user.id, name=name, token_hash=_digest(plain), created_at=now)
    session.add(row)
    session.flush()
    return row, plain


def user_for_token(session: Session, plain: str, *, now: datetime) -> UserRow | None:
    if not plain.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == _digest(plain)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    return user


def revoke_token(session: Session, user: UserRow, token_id: int, *, now: datetime) -> bool:
    row = session.get(ApiTokenRow, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def revoke_user_tokens(session: Session, user_id: int, *, now: datetime) -> int:
    """Revoke every valid token of a user (password reset); returns how many there were."""
    result = session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
