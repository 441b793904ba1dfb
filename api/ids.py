"""Integer ids in paths, bounded to what the id's column can hold: a BIGINT column (alerts,
notifications) holds up to 2^63-1 on SQLite and PostgreSQL, an INTEGER column (users, API tokens) up to
2^31-1 on PostgreSQL. A path outside its column's range answers 422 naming the parameter, before any
query is made; the driver would otherwise fail on the value (``OverflowError`` in SQLite, "integer out of
range" in PostgreSQL) and the request end in a 500. The bounds are in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from sqlalchemy import BigInteger
from sqlalchemy.orm import InstrumentedAttribute

from alerting.models import Alert, Notification
from api.models import ApiTokenRow, UserRow

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def column_max(column: InstrumentedAttribute[int]) -> int:
    """The largest value the column holds on every supported database."""
    return BIGINT_MAX if isinstance(column.property.columns[0].type, BigInteger) else INT_MAX


def _bounds(column: InstrumentedAttribute[int], what: str) -> Any:
    maximum = column_max(column)
    return Path(ge=1, le=maximum, description=f"{what}编号（1 至 {maximum}）")


AlertId = Annotated[int, _bounds(Alert.id, "预警")]
NotificationId = Annotated[int, _bounds(Notification.id, "通知")]
UserId = Annotated[int, _bounds(UserRow.id, "用户")]
TokenId = Annotated[int, _bounds(ApiTokenRow.id, "API 令牌")]
