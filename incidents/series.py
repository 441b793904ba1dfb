"""An incident's trend as its charts draw it (the incident page, the 专报): posts, heat and sentiment per
time bucket."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SeriesPoint(BaseModel):
    start: datetime
    posts: int
    heat: float
    negative: int
    neutral: int
    positive: int
