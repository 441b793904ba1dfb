"""Online clustering of enriched posts into incidents (事件).

A relevant post joins, in this order:
1. the incident it already belongs to (re-delivery or an update of its counts: nothing is counted twice);
2. the incident of an earlier near-duplicate (``nlp.dedup``: reposts, small edits, added hashtags);
3. the active incident whose keyword centroid is most similar to it: cosine of TF-IDF vectors over the
   post's tokens (IDF from the posts seen in the window), plus ``LOCATION_BOOST`` when their places
   are related and ``CATEGORY_BOOST`` when their categories agree, at least ``MATCH_THRESHOLD``;
   incidents whose places contradict the post's (南京 vs 福州) are never candidates; ``EVENT_BOOST``
   more when both are about the same kind of emergency (``nlp.post_terms.EVENT_TYPES``) in related places
   within ``EVENT_GAP``, so an eyewitness post, a hospital notice and an official bulletin of one explosion
   join;
4. otherwise a new incident, whose id is derived from this first post's id (``inc-<post id>``).
Irrelevant posts, and posts without a content word, never open incidents. An incident is active while
its newest post is less than ``WINDOW`` (72 h) from the post's time; time is the post's own (published,
else fetched), so replaying the same posts gives the same incidents. ``MATCH_THRESHOLD`` 0.3 keeps the
test stories whole in any arrival order (partitions do not keep time order); 0.35 merges fewer topically
similar 留言 without places but split a story in 2 of 100 shuffled orders.

Every aggregate is the same as computed from all the incident's members (kept up to date as a member
joins, rebuilt from all of them when one is replaced), so an update of one post's counts changes the heat
and nothing else; ``version`` goes up only when the incident as sent changes. See
``nlp.heat`` for the heat formula; ``burst`` is the posts of the incident's last hour divided by
(1 + its hourly rate over the 24 hours before): 0 when quiet, about 1 for a steady trickle, high when
it takes off.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, cast

import numpy as np

from incidents.vectors import Centroid, Rows, Terms, terms_in_use
from nlp.dedup import NearDuplicateIndex, Signature
from nlp.filing import is_filed
from nlp.heat import incident_heat
from nlp.location import is_ancestor
from nlp.post_signature import of_post as signature_of
from nlp.post_terms import event_kinds
from nlp.post_terms import of_post as terms_of
from nlp.tokenize import clean_text
from yuqing.schemas import (
    Counts,
    EnrichedPost,
    Incident,
    Location,
    MessageReply,
    Severity,
    severity_rank,
)

WINDOW = timedelta(hours=72)
MATCH_THRESHOLD = 0.3
LOCATION_BOOST = 0.1
CATEGORY_BOOST = 0.05
EVENT_BOOST = 0.3
EVENT_GAP = timedelta(hours=24)
CENTROID_TERMS = 40
KEYWORDS = 8
MAX_POST_IDS = 50
MAX_SOURCE_IDS = 100
MAX_TRIGGERS = 10
MAX_LOCATIONS = 3
# Candidate scores are computed for all candidates at once in numpy; a candidate whose score (with every
# boost it could get) is within _MARGIN of the threshold is then scored again exactly as one at a time
# (the same float operations in the same order), so the choice is the same as scoring each in Python.
_MARGIN = 1e-9
# how much further below the threshold the terms left out of candidate search must keep an incident
# (``IncidentTracker._searched``) than the bound says: float rounding of the cosines
_LIGHT_MARGIN = 1e-6
_COMPACT_AFTER = 200_000  # forgotten term ids kept before the term table is compacted

_MESSAGE_CUES = (
    "留言",
    "信箱",
    "来信",
    "问政",
    "诉求",
    "信访",
    "12345",
    "liuyan",
    "message",
    "mailbox",
    "xinfang",
)


def incident_id_for(post_id: str) -> str:
    """The id of the incident a post opens: ``inc-<post id>`` (hashed when too long for the column)."""
    if len(post_id) > 36:
        post_id = hashlib.sha1(post_id.encode()).hexdigest()[:32]
    return f"inc-{post_id}"


def is_message(post: EnrichedPost) -> bool:
    """A citizen's message on a government message board (留言), which must be answered."""
    if post.source_kind != "gov":
        return False
    where = f"{post.source_id} {post.url} {post.title}".lower()
    return any(cue in where for cue in _MESSAGE_CUES)


def reply_of(post: EnrichedPost) -> dict[str, Any] | None:
    """The official reply a 留言 post shows, as the incident carries it (first seen: this fetch)."""
    if post.reply is None:
        return None
    reply = MessageReply(**post.reply.model_dump(), post_id=post.id, url=post.url, seen_at=post.fetched_at)
    return reply.model_dump(mode="json")


UNDATED_NOTE = "留言未标明时间（或时间无法识别），答复时限从抓取时间起算"


def same_event_kind(a: set[str], b: set[str]) -> bool:
    """Both about an emergency, and not about two different specific kinds of it."""
    specific_a, specific_b = a - {"accident"}, b - {"accident"}
    if specific_a and specific_b:
        return bool(specific_a & specific_b)
    return bool(a) and bool(b)


def places_related(a: Iterable[str], b: Iterable[str]) -> bool:
    return any(x == y or is_ancestor(x, y) or is_ancestor(y, x) for x in a for y in b)


@dataclass
class Member:
    """What an incident keeps of each of its posts (stored as JSON by the incidents stage)."""

    post_id: str
    source_id: str
    at: datetime
    title: str
    snippet: str
    counts: Counts
    source_weight: float
    relevant: bool
    category: str | None
    department_type: str | None
    sentiment: str
    emotion: str | None
    severity: str | None
    triggers: list[str]
    locations: list[Location]
    message: bool
    terms: dict[str, float]
    duplicate_of: str | None = None
    events: list[str] = field(default_factory=list)  # kinds of emergency named (``EVENT_TYPES``)
    own_case: bool = False  # a declared 留言 (item_kind message): its own incident, alone
    undated: bool = False  # its time is the crawl's: the source gave none (or none readable)
    reply: dict[str, Any] | None = None  # a 留言's official reply (``MessageReply`` as JSON)
    plan_ids: list[int] = field(default_factory=list)  # the 监测方案 the post matches

    @classmethod
    def from_post(cls, post: EnrichedPost, duplicate_of: str | None = None) -> Member:
        tags = post.tags
        weights, events = terms_of(post)  # as nlp carried them (computed here for a post without them)
        return cls(
            post_id=post.id,
            source_id=post.source_id,
            at=post.posted_at,
            title=clean_text(post.title, 200)[0],
            snippet=clean_text(post.content[:2000], 120)[0],
            counts=post.counts,
            source_weight=post.source_weight,
            relevant=tags.relevant,
            category=tags.category,
            department_type=tags.department_type,
            sentiment=tags.sentiment.label,
            emotion=tags.emotion,
            severity=tags.severity.level,
            triggers=list(tags.severity.triggers),
            locations=list(tags.locations),
            message=post.item_kind == "message" or is_message(post),
            terms=weights,
            duplicate_of=duplicate_of,
            events=events,
            own_case=post.item_kind == "message",
            undated=post.published_at is None or post.published_at > post.fetched_at,
            reply=reply_of(post),
            plan_ids=list(post.plan_ids),
        )

    @property
    def codes(self) -> list[str]:
        return [loc.code for loc in self.locations]

    def to_state(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["at"] = self.at.isoformat()
        data["counts"] = self.counts.model_dump()
        data["locations"] = [loc.model_dump() for loc in self.locations]
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Member:
        data = dict(data)
        data["at"] = datetime.fromisoformat(data["at"])
        data["counts"] = Counts(**data["counts"])
        data["locations"] = [Location(**loc) for loc in data["locations"]]
        if "events" not in data:  # kept before members stored their kinds
            data["events"] = sorted(event_kinds(data["terms"]))
        return cls(**data)


_Key = tuple[datetime, str]  # a member's place in time order: (at, post_id)
_BY_WEIGHT = itemgetter(1, 0)  # a (term, weight) item's (weight, term): lightest first, then by term


class _Aggregates:
    """What an incident as sent is made of, kept up to date as members join (``add``); a member that
    leaves or is replaced rebuilds it from all the members (``rebuild``, rare). Every result is the same as
    computing it from all the members in time order: ties that time order breaks keep each value's
    earliest member."""

    def __init__(self) -> None:
        self.keys: list[_Key] = []  # members' keys, sorted
        self.times: list[datetime] = []  # members' times, sorted
        self.counts = [0, 0, 0, 0]
        self.sources: list[str] = []  # sorted, distinct
        self.max_weight = -math.inf
        self.negative = self.angry = self.fear = 0
        self.message = False
        self.reply: tuple[_Key, dict[str, Any]] | None = None  # the latest 留言 reply among the members
        self.undated = False  # a declared 留言 member without its own time
        self.categories: dict[str, list[Any]] = {}  # category -> [count, earliest key]
        # category (of the members) -> department -> [count, earliest key]
        self.departments: dict[str | None, dict[str, list[Any]]] = {}
        self.top_level = 0
        self.severe: list[tuple[_Key, Member]] = []  # the members of the top severity, in time order
        self.triggers: list[str] | None = []  # their first MAX_TRIGGERS distinct triggers (None: stale)
        self.headline: str | None = None  # ``title()``, until a member changes it
        self.title_original: tuple[_Key, str] | None = None  # the earliest original with a title
        self.first_original: tuple[_Key, Member] | None = None
        self.title_any: tuple[_Key, str] | None = None  # the same among all members
        self.first_any: tuple[_Key, Member] | None = None
        self.votes: dict[str, list[Any]] = {}  # code -> [members naming it, (key, index) of the first]
        self.names: dict[str, tuple[_Key, Location]] = {}  # code -> the latest member's Location
        self.places: list[Location] | None = None  # ``locations()``, until a member naming a place joins
        self.plans: set[int] = set()  # the 监测方案 any member matches

    def rebuild(self, members: Iterable[Member]) -> None:
        self.__init__()  # type: ignore[misc]
        for member in members:
            self.add(member)

    def add(self, m: Member) -> None:
        key = (m.at, m.post_id)
        bisect.insort(self.keys, key)
        bisect.insort(self.times, m.at)
        self._add_reach(m)
        self._add_tallies(m, key)
        self._add_severity(m, key)
        self._add_titles(m, key)
        self._add_places(m, key)

    def _add_reach(self, m: Member) -> None:
        """Engagement sums, the sources, the heaviest source weight and the sentiment tallies."""
        c, sums = m.counts, self.counts
        sums[0] += c.reply
        sums[1] += c.repost
        sums[2] += c.comment
        sums[3] += c.like
        sources = self.sources
        i = bisect.bisect_left(sources, m.source_id)
        if i == len(sources) or sources[i] != m.source_id:
            sources.insert(i, m.source_id)
        if m.source_weight > self.max_weight:
            self.max_weight = m.source_weight
        self.negative += m.sentiment == "negative"
        self.angry += m.emotion == "angry"
        self.fear += m.emotion == "fear"

    def _add_tallies(self, m: Member, key: _Key) -> None:
        """The 留言 facts, the 监测方案, and the category and department-type votes."""
        self.message = self.message or m.message
        if m.reply is not None and (self.reply is None or key > self.reply[0]):
            self.reply = (key, m.reply)
        self.undated = self.undated or (m.own_case and m.undated)
        if m.plan_ids:
            self.plans.update(m.plan_ids)
        if m.category:
            _vote(self.categories, m.category, key)
        if m.department_type:  # by the member's category: the majority category's are counted
            _vote(self.departments.setdefault(m.category, {}), m.department_type, key)

    def _add_severity(self, m: Member, key: _Key) -> None:
        rank = severity_rank(m.severity)
        if rank > self.top_level:
            self.top_level = rank
            self.severe = []
        if rank and rank == self.top_level:
            bisect.insort(self.severe, (key, m), key=_first)
            self.triggers = None

    def severity(self) -> Severity:
        """The top severity level and its members' triggers, the earliest members' first."""
        if self.triggers is None:
            triggers: dict[str, None] = {}
            for _, m in self.severe:
                triggers.update(dict.fromkeys(m.triggers))
                if len(triggers) >= MAX_TRIGGERS:
                    break
            self.triggers = list(triggers)[:MAX_TRIGGERS]
        level = self.severe[0][1].severity if self.severe else None  # (validated members' values)
        return Severity.model_construct(level=level, triggers=list(self.triggers))

    def _add_titles(self, m: Member, key: _Key) -> None:
        """The earliest title and member, among originals and among all members."""
        if m.title:
            if m.duplicate_of is None and (self.title_original is None or key < self.title_original[0]):
                self.title_original = (key, m.title)
                self.headline = None
            if self.title_any is None or key < self.title_any[0]:
                self.title_any = (key, m.title)
                self.headline = None
        if m.duplicate_of is None and (self.first_original is None or key < self.first_original[0]):
            self.first_original = (key, m)
            self.headline = None
        if self.first_any is None or key < self.first_any[0]:
            self.first_any = (key, m)
            self.headline = None

    def _add_places(self, m: Member, key: _Key) -> None:
        """The place votes (members naming a code, the first to) and each code's latest Location."""
        votes, names = self.votes, self.names
        if m.locations:
            self.places = None
        for index, code in enumerate(dict.fromkeys(m.codes)):
            vote = votes.get(code)
            if vote is None:
                votes[code] = [1, (key, index)]
            else:
                vote[0] += 1
                if (key, index) < vote[1]:
                    vote[1] = (key, index)
        latest: dict[str, Location] = {loc.code: loc for loc in m.locations}
        for code, loc in latest.items():
            named = names.get(code)
            if named is None or key > named[0]:
                names[code] = (key, loc)

    def title(self) -> str:
        if self.headline is None:
            self.headline = self._title()
        return self.headline

    def _title(self) -> str:
        if self.first_original is not None:  # some originals: the earliest with a title, else its text
            if self.title_original is not None:
                return self.title_original[1]
            text = self.first_original[1].snippet
        else:
            if self.title_any is not None:
                return self.title_any[1]
            assert self.first_any is not None
            text = self.first_any[1].snippet
        return re.split(r"[。！？!?\n]", text, maxsplit=1)[0][:60] or text[:60]

    def burst(self) -> float:
        times = self.times
        latest = times[-1]
        hour_ago, day_before = latest - timedelta(hours=1), latest - timedelta(hours=25)
        up_to_hour = bisect.bisect_right(times, hour_ago)
        last_hour = len(times) - up_to_hour
        before = up_to_hour - bisect.bisect_right(times, day_before)
        return last_hour / (1 + before / 24)

    def locations(self) -> list[Location]:
        if self.places is None and len(self.votes) == 1:  # one place named: that place
            self.places = [loc for _, loc in self.names.values()]
        if self.places is None:
            votes = self.votes
            ordered = Counter({c: votes[c][0] for c in sorted(votes, key=lambda c: votes[c][1])})
            self.places = _locations(ordered, {c: loc for c, (_, loc) in self.names.items()})
        return list(self.places)


def _first(item: tuple[_Key, Member]) -> _Key:
    return item[0]


def _vote(tally: dict[str, list[Any]], value: str, key: _Key) -> None:
    entry = tally.get(value)
    if entry is None:
        tally[value] = [1, key]
    else:
        entry[0] += 1
        if key < entry[1]:
            entry[1] = key


def _winner(tally: dict[str, list[Any]] | None) -> str | None:
    """The value with the most votes; the earliest among equals."""
    if not tally:
        return None
    return min(tally, key=lambda v: (-tally[v][0], tally[v][1]))


@dataclass
class _Cluster:
    id: str
    members: dict[str, Member] = field(default_factory=dict)
    centroid: Centroid = field(default_factory=Centroid)
    originals: int = 0
    selection: dict[str, float] = field(default_factory=dict)  # the centroid's top terms, matched against
    keywords: list[str] = field(default_factory=list)
    version: int = 0
    sent: Incident | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    codes: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    aggregates: _Aggregates = field(default_factory=_Aggregates)
    sealed: bool = False  # a declared 留言's case: no other post joins it
    row: int = -1  # its row in the tracker's ``Rows``

    def note(self, member: Member) -> None:
        """Keep the time span, the places and the kinds of emergency up to date with a new member."""
        self.first_seen = min(self.first_seen or member.at, member.at)
        self.last_seen = max(self.last_seen or member.at, member.at)
        self.codes.update(member.codes)
        self.events.update(member.events)

    def renote(self) -> None:
        self.first_seen = self.last_seen = None
        self.codes = set()
        self.events = set()
        for member in self.members.values():
            self.note(member)

    def add_terms(self, member: Member, terms: Terms, sign: int = 1) -> None:
        if member.duplicate_of is None:
            self.centroid.add(member.terms, terms, sign)
            self.originals += sign


@dataclass(frozen=True)
class StoredIncident:
    """An incident as the incidents stage stored it: enough to carry on clustering after a restart."""

    id: str
    version: int
    keywords: list[str]
    members: list[tuple[Member, Signature]]


@dataclass(frozen=True)
class Change:
    """What ``IncidentTracker.add`` did: the incident as it is now, the post's record, and whether the
    incident changed (and so has a new version to send)."""

    incident: Incident
    member: Member
    signature: Signature
    new_member: bool
    changed: bool


class IncidentTracker:
    """The active incidents, their members, the near-duplicate index and the document frequencies."""

    def __init__(self, window: timedelta = WINDOW, threshold: float = MATCH_THRESHOLD) -> None:
        self.window = window
        self.threshold = threshold
        self.clusters: dict[str, _Cluster] = {}
        self.post_cluster: dict[str, str] = {}
        self.dedup = NearDuplicateIndex()
        # candidate search (``incidents.vectors``): a selection term -> the rows of the incidents whose
        # selection holds it; a kind of emergency -> the rows of the incidents that name it
        self._postings: defaultdict[str, set[int]] = defaultdict(set)
        self._by_event: defaultdict[str, set[int]] = defaultdict(set)
        self._df: Counter[str] = Counter()
        self._ldf: dict[str, float] = {}  # log(1 + document frequency) of the terms counted, while > 0
        self._docs = 0
        self._watermark: datetime | None = None
        self._terms = Terms()  # every counted term's id and log(1 + df), for numpy
        self._rows = Rows(CENTROID_TERMS)
        self._row_ids: list[str | None] = []  # row -> the incident holding it

    # --- the one entry point ------------------------------------------------------------------
    def add(self, post: EnrichedPost) -> Change | None:
        """File one post; None when it is irrelevant or wordless and not already in an incident."""
        known = self.post_cluster.get(post.id)
        if known is None and not is_filed(post):
            return None  # (a declared 留言 is a case whatever the relevance model says)
        sig = signature_of(post)  # as nlp carried it (computed here for a post without it)
        if known is not None:
            cluster = self.clusters[known]
            old = cluster.members[post.id]
            member = Member.from_post(post, duplicate_of=old.duplicate_of)
            same_reply = member.reply and old.reply and member.reply["text"] == old.reply["text"]
            if same_reply:  # first seen then, not at this re-fetch
                member.reply["seen_at"] = old.reply["seen_at"]  # type: ignore[index]
            cluster.members[post.id] = member
            cluster.renote()
            cluster.aggregates.rebuild(cluster.members.values())
            if member.terms != old.terms:  # an edited text; an update of counts leaves the centroid be
                cluster.add_terms(old, self._terms, -1)
                cluster.add_terms(member, self._terms)
                self._rekey(cluster)
            return self._publish(cluster, member, sig, new_member=False)
        at = post.posted_at
        if post.item_kind == "message":  # every 留言 is its own case, never merged into another
            member = Member.from_post(post)
            cluster = self._open(incident_id_for(post.id))
            self._count_document(member)
            self._join(cluster, member, sig)
            self._rekey(cluster)
            self._advance(at)
            return self._publish(cluster, member, sig, new_member=True)
        duplicate_of = self.dedup.find(sig)
        home = self.clusters.get(self.post_cluster.get(duplicate_of or "", ""))
        if home is not None and home.sealed:
            duplicate_of = home = None  # a copy of a 留言 is a post of its own, not part of its case
        if duplicate_of is not None and home is not None and self._active(home, at):
            cluster = home
            original = cluster.members[duplicate_of].duplicate_of or duplicate_of  # the root of a chain
            member = Member.from_post(post, duplicate_of=original)
        else:
            member = Member.from_post(post)
            if not member.terms:
                return None  # no words to tell what it is about (emoji, a bare link): nothing to open
            cluster = self._best_cluster(member, at) or self._open(incident_id_for(post.id))
            self._count_document(member)
        self._join(cluster, member, sig)
        if member.duplicate_of is None:
            self._rekey(cluster)
        self._advance(at)
        return self._publish(cluster, member, sig, new_member=True)

    def restore(self, incidents: Iterable[StoredIncident]) -> int:
        """Rebuild incidents from stored state (at start), as they were last sent; how many."""
        restored = []
        for stored in incidents:
            cluster = self._open(stored.id)
            for member, sig in stored.members:
                if member.duplicate_of is None:
                    self._count_document(member)
                self._join(cluster, member, sig)
                self._advance(member.at)
            if cluster.members:
                cluster.version = stored.version
                restored.append((cluster, stored.keywords))
            else:
                self._close(cluster)
        for cluster, keywords in restored:  # once every document frequency is back
            self._rekey(cluster)
            cluster.keywords = list(keywords)
            cluster.sent = self._aggregate(cluster)
            self._sync_row(cluster)
        return len(restored)

    def ranked(self) -> list[Incident]:
        return sorted((c.sent for c in self.clusters.values() if c.sent), key=lambda i: (-i.heat, i.id))

    # --- clustering ---------------------------------------------------------------------------
    def _open(self, incident_id: str) -> _Cluster:
        cluster = _Cluster(id=incident_id)
        self.clusters[cluster.id] = cluster
        cluster.row = self._rows.take()
        if cluster.row == len(self._row_ids):
            self._row_ids.append(cluster.id)
        else:
            self._row_ids[cluster.row] = cluster.id
        return cluster

    def _close(self, cluster: _Cluster) -> None:
        for term in cluster.selection:
            self._postings[term].discard(cluster.row)
        for kind in cluster.events:
            self._by_event[kind].discard(cluster.row)
        self._rows.release(cluster.row)
        self._row_ids[cluster.row] = None
        del self.clusters[cluster.id]

    def _join(self, cluster: _Cluster, member: Member, sig: Signature) -> None:
        cluster.sealed = cluster.sealed or member.own_case
        cluster.members[member.post_id] = member
        cluster.note(member)
        cluster.aggregates.add(member)
        for kind in cluster.events:
            self._by_event[kind].add(cluster.row)
        cluster.add_terms(member, self._terms)
        self.post_cluster[member.post_id] = cluster.id
        self.dedup.add(member.post_id, sig)

    def _rekey(self, cluster: _Cluster) -> None:
        """Choose the incident's keywords and the centroid terms posts are matched against, when the
        incident's own posts change (not each time other posts move the IDF)."""
        row, postings, old = cluster.row, self._postings, cluster.selection
        top = cluster.centroid.top_entries(self._terms, self._docs, CENTROID_TERMS)
        cluster.keywords = [term for term, _, _ in top[:KEYWORDS]]
        cluster.selection = {term: weight for term, _, weight in top}
        for term in old.keys() - cluster.selection.keys():
            postings[term].discard(row)
        for term in cluster.selection.keys() - old.keys():
            postings[term].add(row)
        self._rows.set_selection(row, [tid for _, tid, _ in top], [weight for _, _, weight in top])

    def _sync_row(self, cluster: _Cluster) -> None:
        """What candidate search checks of an incident, as it is now (after each change)."""
        self._rows.set_state(
            cluster.row,
            first=cluster.first_seen,
            last=cluster.last_seen,
            open_to_posts=bool(cluster.originals) and not cluster.sealed,
            placed=bool(cluster.codes),
            eventful=bool(cluster.events),
            category=cluster.sent.category if cluster.sent else None,
        )

    def _count_document(self, member: Member, sign: int = 1) -> None:
        df, terms = self._df, self._terms
        if sign > 0:
            df.update(member.terms.keys())
        else:
            df.subtract(member.terms.keys())
        self._docs += sign
        ldf, log = self._ldf, math.log
        values = []
        for term in member.terms:
            n = df[term]
            value = log(1 + max(n, 0))
            if n > 0:
                ldf[term] = value
            else:
                ldf.pop(term, None)
            values.append(value)
        terms.set_logdfs(member.terms, values)

    def _vector(self, weights: Mapping[str, float]) -> dict[str, float]:
        n = math.log(1 + self._docs)
        ldf = self._ldf  # math.log(1 + df[t]), kept
        return {t: w * (n - ldf.get(t, 0.0) + 1.0) for t, w in weights.items() if w > 1e-9}

    def _best_cluster(self, member: Member, at: datetime) -> _Cluster | None:
        post_vec = self._vector(member.terms)
        post_norm = math.sqrt(sum(w * w for w in post_vec.values()))
        if not post_norm:
            return None
        postings = self._postings
        found: set[int] = set().union(*(postings[t] for t in self._searched(member, post_vec, post_norm)))
        # the same emergency told in other words shares no term: its kind makes it a candidate too
        found.update(*(self._by_event.get(kind, ()) for kind in member.events))
        if not found:
            return None
        rows = np.fromiter(found, dtype=np.int64, count=len(found))
        bounds = self._rows.bounds(
            rows,
            post_vec,
            post_norm,
            self._terms,
            self._docs,
            at=at,
            window=self.window,
            placed=bool(member.codes),
            event_boost=EVENT_BOOST if member.events else 0.0,
            location_boost=LOCATION_BOOST,
            category=member.category,
            category_boost=CATEGORY_BOOST,
        )
        near, near_bounds = self._rows.near_first(bounds, self.threshold - _MARGIN)
        best: tuple[float, str] | None = None
        for i, bound in zip(near.tolist(), near_bounds.tolist(), strict=True):
            if best is not None and bound < best[0] - _MARGIN:
                break  # in order of their bounds: none after this one can win
            cluster = self.clusters[cast(str, self._row_ids[rows[i]])]
            score = self._score(member, post_vec, post_norm, cluster, at)
            if score is None or score < self.threshold:
                continue
            # the highest score wins; among equal scores, the smallest incident id (as scored by id)
            if best is None or score > best[0] or (score == best[0] and cluster.id < best[1]):
                best = (score, cluster.id)
        return self.clusters[best[1]] if best else None

    def _searched(self, member: Member, post_vec: dict[str, float], post_norm: float) -> list[str]:
        """The post's terms whose incidents are candidates: all but its lightest ones, as many as together
        cannot lift an incident to the threshold. An incident that shares only terms of a set L with the
        post has a cosine of at most |post restricted to L| / |post| (Cauchy–Schwarz), so while that stays
        under the threshold less the most any boost could add, such incidents cannot win and are not
        looked at (the common words, which many incidents hold, are usually the light ones)."""
        boost = CATEGORY_BOOST if member.category else 0.0
        if member.codes:
            boost += LOCATION_BOOST + (EVENT_BOOST if member.events else 0.0)
        room = self.threshold - boost - _LIGHT_MARGIN
        postings = self._postings
        if room <= 0:
            return [t for t in post_vec if t in postings]
        budget, light = (room * post_norm) ** 2, 0.0
        searched = []
        for term, weight in sorted(post_vec.items(), key=_BY_WEIGHT):
            if light + weight * weight < budget:
                light += weight * weight
            elif term in postings:
                searched.append(term)
        return searched

    def _score(
        self, member: Member, post_vec: dict[str, float], post_norm: float, cluster: _Cluster, at: datetime
    ) -> float | None:
        """A post's exact score with one incident (None when their places contradict): the cosine of
        their TF-IDF vectors as one candidate at a time, plus the boosts."""
        located = bool(member.codes and cluster.codes)
        if located and not places_related(member.codes, cluster.codes):
            return None
        centroid = self._vector(cluster.selection)
        norm = math.sqrt(sum(w * w for w in centroid.values()))
        dot = sum(w * centroid.get(t, 0.0) for t, w in post_vec.items())
        score = dot / (post_norm * norm) if norm else 0.0
        if located:
            score += LOCATION_BOOST
            if self._same_event(member, cluster, at):
                score += EVENT_BOOST
        if member.category and cluster.sent and member.category == cluster.sent.category:
            score += CATEGORY_BOOST
        return score

    @staticmethod
    def _same_event(member: Member, cluster: _Cluster, at: datetime) -> bool:
        """The same kind of emergency, close in time (places are checked by the caller)."""
        if cluster.first_seen is None or cluster.last_seen is None:
            return False
        near = cluster.first_seen - EVENT_GAP <= at <= cluster.last_seen + EVENT_GAP
        return near and same_event_kind(set(member.events), cluster.events)

    def _active(self, cluster: _Cluster, at: datetime) -> bool:
        first, last = cluster.first_seen, cluster.last_seen
        return (
            first is not None and last is not None and last >= at - self.window and first <= at + self.window
        )

    def _advance(self, at: datetime) -> None:
        if self._watermark is None or at > self._watermark:
            self._watermark = at

    def evict(self) -> list[str]:
        """Forget incidents that went quiet more than a window before the newest post (they are closed:
        a later post opens a new incident); their ids. The incidents stage calls this on its timer."""
        if self._watermark is None:
            return []
        horizon = self._watermark - self.window
        gone = [c for c in self.clusters.values() if c.last_seen is None or c.last_seen < horizon]
        for cluster in gone:
            for member in cluster.members.values():
                self.dedup.remove(member.post_id)
                self.post_cluster.pop(member.post_id, None)
                if member.duplicate_of is None:
                    self._count_document(member, -1)
            self._close(cluster)
        self._df = +self._df
        if len(self._terms) > 2 * len(self._df) + _COMPACT_AFTER:
            self._compact_terms()
        return [c.id for c in gone]

    def _compact_terms(self) -> None:
        """Forget the ids of terms no open incident holds and no counted post has (kept from evicted
        incidents): the term table stays the size of what is open."""
        old_to_new = self._terms.compact(terms_in_use(c.centroid for c in self.clusters.values()))
        for cluster in self.clusters.values():
            cluster.centroid.remap(old_to_new)
        self._rows.remap(old_to_new)

    # --- the incident as sent -----------------------------------------------------------------
    def _publish(self, cluster: _Cluster, member: Member, sig: Signature, *, new_member: bool) -> Change:
        incident = self._aggregate(cluster)
        before = cluster.sent
        if before is not None:  # compared field by field, the version aside
            incident.version = before.version
        changed = before != incident
        if changed:
            cluster.version += 1
        incident.version = max(cluster.version, 1)
        cluster.sent = incident
        self._sync_row(cluster)
        return Change(incident, member, sig, new_member, changed)

    def _aggregate(self, cluster: _Cluster) -> Incident:
        agg = cluster.aggregates
        keys = agg.keys
        n = len(keys)
        category = _winner(agg.categories)
        reply, repost, comment, like = agg.counts
        counts = Counts.model_construct(reply=reply, repost=repost, comment=comment, like=like)
        sources = agg.sources
        burst = agg.burst()
        negative = agg.negative / n
        # built from values of the right types (every one made here, from validated posts): not validated
        # again, as the incident is rebuilt at each post that joins it
        return Incident.model_construct(
            id=cluster.id,
            title=agg.title(),
            keywords=list(cluster.keywords),
            first_seen=keys[0][0],
            last_seen=keys[-1][0],
            locations=agg.locations(),
            category=category,
            department_type=_winner(agg.departments.get(category)),
            severity=agg.severity(),
            post_count=n,
            source_count=len(sources),
            heat=incident_heat(n, len(sources), counts, agg.max_weight, burst, negative),
            burst=round(burst, 3),
            negative_share=round(negative, 4),
            anger_share=round(agg.angry / n, 4),
            fear_share=round(agg.fear / n, 4),
            post_ids=[key[1] for key in keys[: -MAX_POST_IDS - 1 : -1]],
            source_ids=sources[:MAX_SOURCE_IDS],
            kind="message" if agg.message else "opinion",
            version=max(cluster.version, 1),
            reply=MessageReply.model_validate(agg.reply[1]) if agg.reply else None,
            notes=[UNDATED_NOTE] if agg.undated else [],
            plan_ids=sorted(agg.plans),
        )


def _locations(votes: Counter[str], names: dict[str, Location]) -> list[Location]:
    """The places most posts name: the most supported place, as specific as half its support allows,
    then other unrelated places with at least a third of that support. ``votes``: how many members name
    each code, in the order the members (in time order) first name them; ``names``: the latest member's
    ``Location`` of each code."""
    if not votes:
        return []
    supports = dict.fromkeys(votes, 0)  # a code's votes and its descendants' (``is_ancestor``)
    for c, v in votes.items():
        for end in range(1, len(c) + 1):
            if c[:end] in supports:
                supports[c[:end]] += v
    support = supports.__getitem__

    ranked = sorted(votes, key=lambda c: (-support(c), -len(c), c))
    chosen: list[str] = []
    top = support(ranked[0])
    for code in ranked:
        if len(chosen) >= MAX_LOCATIONS or support(code) * 3 < top:
            break
        if places_related([code], chosen):
            continue
        deeper = [c for c in votes if is_ancestor(code, c) and support(c) * 2 >= support(code)]
        while deeper:
            code = max(deeper, key=lambda c: (support(c), len(c)))
            deeper = [c for c in votes if is_ancestor(code, c) and support(c) * 2 >= support(code)]
        chosen.append(code)
    return [names[c] for c in chosen]
