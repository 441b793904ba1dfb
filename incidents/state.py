"""Tables of the incidents stage (on yuqing.db.base.Base): what it needs to rebuild its clustering after a
restart. The incidents themselves are ``yuqing.db.models.IncidentRow`` / ``IncidentPost``; this table keeps,
per post, the record an incident is recomputed from and the post's near-duplicate signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class IncidentMemberState(Base):
    __tablename__ = "nlp_incident_members"

    post_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, doc="post time: published, else fetched")
    minhash: Mapped[bytes] = mapped_column(LargeBinary, doc="nlp.dedup Signature.hashvalues_bytes()")
    numbers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    places: Mapped[list[str]] = mapped_column(JSONType, default=list)
    member: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="incidents.clustering.Member.to_state()")
