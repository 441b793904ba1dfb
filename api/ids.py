"""Integer ids in paths, bounded to what the id's column can hold: a BIGINT column (alerts,
notifications) holds up to 2^63-1 on SQLite and PostgreSQL, an INTEGER column (users, API tokens) up to
2^31-1 on PostgreSQL. A path outside its column's range answers 422 naming the parameter, before any
query is made; the driver would otherwise fail on the value (``OverflowError`` in SQLite, "integer out of
range" in PostgreSQL) and the request end in a 500. The bounds are in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from alerting.read_models import ALERT_ID_MAX, NOTIFICATION_ID_MAX
from api.models import ApiTokenRow, UserRow
from yuqing.db.id_bounds import BIGINT_MAX, INT_MAX, column_max

__all__ = ["BIGINT_MAX", "INT_MAX", "AlertId", "NotificationId", "TokenId", "UserId", "column_max"]


def _bounds(maximum: int, what: str) -> Any:
    return Path(ge=1, le=maximum, description=f"{what}编号（1 至 {maximum}）")


AlertId = Annotated[int, _bounds(ALERT_ID_MAX, "预警")]
NotificationId = Annotated[int, _bounds(NOTIFICATION_ID_MAX, "通知")]
UserId = Annotated[int, _bounds(column_max(UserRow.id), "用户")]
TokenId = Annotated[int, _bounds(column_max(ApiTokenRow.id), "API 令牌")]
