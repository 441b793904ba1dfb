"""The policy register's table (on yuqing.db.base.Base).

policies   one row per policy document (unique ``url_key``, a hash of its address): who issued it, its level,
           when it was published, where it came from, the case it opened (``alert_id``) and, when something
           about it was off (a page without a date, a date in the future), the problem, shown with it
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, UTCDateTime

_BigId = BigInteger().with_variant(Integer, "sqlite")


class PolicyRow(Base):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(64), unique=True, doc="sha256 of the url: one row per policy")
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(String(120), doc="发文机关")
    level: Mapped[str] = mapped_column(String(12), doc="yuqing.domain.POLICY_LEVELS")
    key_policy: Mapped[bool] = mapped_column(Boolean, default=False, doc="重要政策: needs 转载")
    region_code: Mapped[str | None] = mapped_column(String(12), doc="whose portal / whose policy")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="as given")
    clock_start: Mapped[datetime] = mapped_column(UTCDateTime, doc="when its deadline started")
    deadline_kind: Mapped[str | None] = mapped_column(String(40), doc="none: no case (a non-key policy)")
    incident_id: Mapped[str | None] = mapped_column(String(40))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    source_id: Mapped[str | None] = mapped_column(String(80), doc="crawler source; none: by hand")
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    problem: Mapped[str | None] = mapped_column(Text, doc="what was off with it, shown in the register")
