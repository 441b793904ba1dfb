"""One event, one alert: alerts of incidents that are the same event merge automatically.

Two open alerts are the same event when their places are related (the same place, or one inside the
other: at least one city when both name the same event word, one county when their words only share a
kind), they name a common specific kind of emergency (爆炸, 火灾, 泄漏 …: the words of
``nlp.post_terms.EVENT_TYPES`` in the title, keywords and severity words; the generic
事故/救援/疏散 and a gathering's 聚集 are not enough) and their spans of posts lie within
``incidents.clustering.EVENT_GAP`` of each other. The clustering usually puts such posts in one
incident; when it does not (an aftermath post arriving before
the words that tie it in), the later alert merges into the earliest one here: its clocks stop, the merge
is in both alerts' audit logs with the reason, the merged incident is marked ``merged_into`` (so lists
show the event once), and the surviving alert takes the higher of the two levels. A merged alert's
incident that later rises above the surviving alert raises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import service
from alerting.intake import Cause, IntakeContext, raise_level
from alerting.models import Alert
from alerting.rules import evaluate
from alerting.state import OPEN, Status
from incidents.clustering import EVENT_GAP, WINDOW, places_related
from incidents.mapping import incident_from_row
from incidents.models import IncidentRow
from nlp.post_terms import EVENT_TYPES
from yuqing.schemas import Incident, severity_rank

SYSTEM = "system:alerting"
# Kinds too broad to tell one event: the generic 事故/救援/疏散 words, and 聚集/群体性 (two gatherings in one
# city on one day are often two events: a 讨薪 at one site, a 拆迁 protest at another).
GENERIC = frozenset({"accident", "crowd"})
# How deep both places must be: a merge stops the merged alert's clocks, and one city holds many events of
# one kind in a day (a school canteen's 中毒 and a gas main's 泄漏 in 合肥 are two cases). The same event
# word in both (爆炸, 爆炸) is enough within one city; words that only share their kind need one county.
CITY_CODE, COUNTY_CODE = 4, 6
MERGE_RULE = "same-event-merge"  # the "rule" behind a level a merged alert carried over


@dataclass(frozen=True)
class EventSign:
    """What tells one event from another: its places, its kinds of emergency (with the words), its span."""

    codes: tuple[str, ...]
    words: dict[str, str]  # event word -> its kind
    first: datetime
    last: datetime

    @property
    def specific(self) -> set[str]:
        return {k for k in self.words.values() if k not in GENERIC}

    @classmethod
    def of(
        cls, *, codes: list[str], texts: list[str], first: datetime, last: datetime
    ) -> EventSign:
        return cls(tuple(dict.fromkeys(c for c in codes if c)), _event_words(" ".join(texts)), first, last)

    def same_event(self, other: EventSign) -> tuple[str, str] | None:
        """(place, kinds) in words when ``other`` is the same event, else None."""
        common = self.specific & other.specific
        if not common:
            return None
        # the same word (爆炸 and 爆炸) in one city; only a kind in common (中毒 and 泄漏): one county
        shared_word = any(w in other.words for w, k in self.words.items() if k in common)
        depth = CITY_CODE if shared_word else COUNTY_CODE
        places = [
            (a, b) for a in self.codes for b in other.codes
            if min(len(a), len(b)) >= depth and places_related([a], [b])
        ]
        if not places:
            return None
        if self.first > other.last + EVENT_GAP or other.first > self.last + EVENT_GAP:
            return None
        a, b = places[0]
        words = sorted({w for w, k in {**self.words, **other.words}.items() if k in common})
        return (a if len(a) >= len(b) else b), "、".join(words)


@lru_cache(maxsize=8192)
def _event_words(text: str) -> dict[str, str]:
    """The event words in a text, with their kinds (memoised: each open alert's text is read again at
    every incident change in its window; the dict is shared, never changed)."""
    return {w: kind for w, kind in EVENT_TYPES.items() if w in text}


def _sign_of_incident(incident: Incident) -> EventSign:
    return EventSign.of(
        codes=[loc.code for loc in incident.locations],
        texts=[incident.title, *incident.keywords, *incident.severity.triggers],
        first=incident.first_seen,
        last=incident.last_seen,
    )


# what an open alert's event sign is made of: the alert's title, places and first post, its incident's
# keywords, severity words and last post (columns only: the candidates of a merge are many, the merged few)
_SIGN_COLUMNS = (
    Alert.id,
    Alert.title,
    Alert.locations,
    Alert.first_seen,
    IncidentRow.id,
    IncidentRow.keywords,
    IncidentRow.severity_triggers,
    IncidentRow.last_seen,
)


def _sign_of_alert(
    title: str,
    locations: list[dict[str, Any]] | None,
    first_seen: datetime,
    row: tuple[list[str] | None, list[str] | None, datetime] | None,
) -> EventSign:
    """An open alert's sign; ``row``: its incident's keywords, severity words and last post (None when
    the alert has no stored incident)."""
    texts = [title]
    if row is not None:
        texts += [*(row[0] or []), *(row[1] or [])]
    return EventSign.of(
        codes=[str(loc.get("code", "")) for loc in locations or []],
        texts=texts,
        first=first_seen,
        last=row[2] if row is not None else first_seen,
    )


def _raise_survivor(
    session: Session, survivor: Alert, level: str, ctx: IntakeContext, now: datetime, why: str
) -> None:
    row = session.get(IncidentRow, survivor.incident_id)
    raise_level(
        session, survivor, level, (MERGE_RULE,), ctx, now, Cause(actor=SYSTEM, reason=why),
        incident=incident_from_row(row) if row is not None else None,
    )


def merge_same_event(
    session: Session, alert_id: int, incident: Incident, ctx: IntakeContext, now: datetime
) -> list[dict[str, Any]]:
    """After ``incident`` created or changed alert ``alert_id``: merge it with the open alerts of the same
    event (into the earliest), or carry a merged alert's higher level to the alert it is merged into.
    Returns what was merged (for the worker's log and the tests)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return []
    if alert.status == Status.MERGED:
        _carry_level(session, alert, incident, ctx, now)
        return []
    if alert.status not in OPEN:
        return []
    mine = _sign_of_incident(incident)
    if not mine.specific or not mine.codes:
        return []
    rows = session.execute(
        select(*_SIGN_COLUMNS)
        .outerjoin(IncidentRow, IncidentRow.id == Alert.incident_id)
        .where(
            Alert.id != alert.id,
            Alert.status.in_(sorted(OPEN)),
            Alert.first_seen >= incident.first_seen - WINDOW - EVENT_GAP,
            Alert.first_seen <= incident.last_seen + EVENT_GAP,
        )
        .order_by(Alert.first_seen, Alert.id)
    ).all()
    same: list[tuple[Alert, str, str]] = []
    for other_id, title, locations, first_seen, row_id, keywords, triggers, last_seen in rows:
        stored = (keywords, triggers, last_seen) if row_id is not None else None
        found = mine.same_event(_sign_of_alert(title, locations, first_seen, stored))
        if found is not None:
            other = session.get(Alert, other_id)
            assert other is not None
            same.append((other, *found))
    if not same:
        return []
    group = [(alert, "", ""), *same]
    survivor = min((a for a, _, _ in group), key=lambda a: (a.first_seen, a.id))
    merged = []
    for other, place, words in group:
        if other.id == survivor.id:
            continue
        place, words = place or same[0][1], words or same[0][2]
        name = next((loc.get("name") for loc in other.locations or [] if loc.get("code") == place), place)
        minutes = round(abs((other.first_seen - survivor.first_seen).total_seconds()) / 60)
        why = (
            f"同一事件自动合并：同地（{name}）、同类突发事件（{words}）、首发相隔 {minutes} 分钟；"
            f"事件 {other.incident_id} 并入 {survivor.incident_id}"
        )
        if severity_rank(other.level) > severity_rank(survivor.level):
            _raise_survivor(session, survivor, other.level, ctx, now, why)
        service.merge(
            session, alert_id=other.id, into_id=survivor.id, reason=why, actor=SYSTEM, channel="system",
            now=now,
        )
        merged_row = session.get(IncidentRow, other.incident_id)
        if merged_row is not None and merged_row.id != survivor.incident_id:
            merged_row.merged_into = survivor.incident_id
        merged.append({"alert_id": other.id, "into_id": survivor.id, "reason": why})
    return merged


def _carry_level(
    session: Session, alert: Alert, incident: Incident, ctx: IntakeContext, now: datetime
) -> None:
    """A merged alert's incident rose: the alert it was merged into rises with it."""
    target = alert
    for _ in range(10):  # follow a chain of merges (a merged into b merged into c)
        if target.merged_into_id is None:
            break
        target = session.get_one(Alert, target.merged_into_id)
    if target.id == alert.id or target.status not in OPEN:
        return
    decision = evaluate(ctx.config, incident, now)
    if decision.level is not None and severity_rank(decision.level) > severity_rank(target.level):
        why = f"并入的事件 {incident.id} 级别升至{decision.level}"
        _raise_survivor(session, target, decision.level, ctx, now, why)

