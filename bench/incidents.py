"""Throughput of the incidents stage against the nlp stage on the same real posts, and clustering quality.

    python bench/incidents.py [--posts 5000] [--spacing 5] [--profile 15] [--db FILE]

Posts are real Weibo posts (../shared/data weibo_sentiment and weibo_emotion, shuffled with a fixed seed),
made into RawPosts one every ``--spacing`` seconds (5000 posts span about 7 hours, all within one window,
so every incident stays open: the worst case for candidate search), two in three with a source region.

1. nlp stage: ``EnrichWorker`` on batches of 100 messages, as its ``run`` loop does (handle_batch
   and the JSON encoding of each output; no bus I/O) → posts/s.
2. incidents stage: ``IncidentsWorker`` on the nlp stage's encoded outputs, batches of 100 (prepare_batch,
   handle, encoding of each Incident, on_batch_done), on a fresh SQLite database (the embedded default)
   → posts/s, and the ratio incidents ÷ nlp (target >= 0.8). The two stages run batch by batch
   alternately (nlp batch i, then incidents batch i), so a machine shared with other work slows both
   alike; CPU seconds of this process are summed too.
3. ``IncidentTracker.add`` alone on the same posts, under cProfile: posts/s, the top functions by own time,
   and a fingerprint of the clustering (post → incident, duplicate_of) so a change that should not change
   the clustering can be checked to leave the fingerprint as it was.
4. Quality on the labelled stories: tests/nlp/test_incidents_stories.json (three stories and noise) and
   the drill (sample_site/data/fengqiu_explosion_replay.jsonl, one explosion, plus the two
   aftermath posts of tests/nlp/test_incidents_drill.py: one belongs, one does not), in one stream, in time
   order and in 20 shuffled orders: pairwise precision/recall and B-cubed precision/recall/F1 (a post that
   opens nothing counts as a cluster of its own).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import logging
import pstats
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.corpus import SHARED  # noqa: E402
from bench.corpus import texts as corpus_texts  # noqa: E402
from incidents.clustering import IncidentTracker  # noqa: E402
from incidents.stage import IncidentsWorker  # noqa: E402
from nlp.enrich import Enricher  # noqa: E402
from nlp.location import Gazetteer  # noqa: E402
from nlp.tokenize import clean_text, segment  # noqa: E402
from nlp.worker import EnrichWorker  # noqa: E402
from yuqing.bus.base import Message, encode_value  # noqa: E402
from yuqing.clock import FakeClock  # noqa: E402
from yuqing.db.session import open_database  # noqa: E402
from yuqing.schemas import Counts, EnrichedPost, RawPost, Tags, post_id_for  # noqa: E402
from yuqing.topology import Topics  # noqa: E402
from yuqing.worker import POST_BATCH, tune_gc  # noqa: E402

SOURCES = ("weibo_sentiment/train.tsv", "weibo_emotion/train.tsv")
REGIONS = ("320100", "350102", "110105", "510107", None, None)
BATCH = POST_BATCH  # what the stages poll at most at once
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STORIES = ROOT / "tests" / "nlp" / "test_incidents_stories.json"
DRILL = ROOT / "sample_site" / "data" / "fengqiu_explosion_replay.jsonl"


class _Producer:
    """Encodes what a stage sends, as the bus producer does, and keeps the encoded values until taken."""

    def __init__(self) -> None:
        self.sent = 0
        self.values: list[bytes] = []

    def send(self, topic: str, value: Any, key: str | None = None, headers: Any = None) -> None:
        self.values.append(encode_value(value))
        self.sent += 1

    def take(self) -> list[bytes]:
        values, self.values = self.values, []
        return values

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class _Bus:
    def producer(self) -> _Producer:
        return _Producer()


def load_posts(n: int, seed: int, spacing: float) -> list[RawPost]:
    texts = [t for t in corpus_texts(SOURCES) if t.strip()]
    rng = random.Random(seed)
    chosen = rng.sample(texts, min(n, len(texts)))
    return [
        RawPost(
            id=f"bench-{i}",
            source_id="weibo",
            source_kind="social",
            url=f"https://weibo.example/{i}",
            content=text,
            published_at=T0 + timedelta(seconds=spacing * i),
            fetched_at=T0 + timedelta(seconds=spacing * i + 60),
            region=REGIONS[i % len(REGIONS)],
        )
        for i, text in enumerate(chosen)
    ]


def messages(topic: str, values: Sequence[Any]) -> list[Message]:
    return [Message(topic, 0, i, None, encode_value(v), 0) for i, v in enumerate(values)]


def run_stage(worker: Any, batch: Sequence[Message]) -> None:
    """The body of ``Worker.run`` for one polled batch, without the bus."""
    worker.process_batch(batch)


def time_stages(nlp: EnrichWorker, incidents: IncidentsWorker, raw: list[RawPost]) -> dict[str, float]:
    """Wall and CPU seconds of each stage over all posts: nlp batch i, then incidents batch i (the nlp
    stage's encoded outputs), alternately."""
    spent = dict.fromkeys(("nlp", "nlp_cpu", "incidents", "incidents_cpu"), 0.0)
    msgs = messages(Topics.RAW_POSTS, raw)
    offset = 0
    for start in range(0, len(msgs), BATCH):
        t0, c0 = time.perf_counter(), time.process_time()
        run_stage(nlp, msgs[start : start + BATCH])
        t1, c1 = time.perf_counter(), time.process_time()
        values = nlp.producer.take()  # type: ignore[attr-defined]
        batch = [Message(Topics.ENRICHED_POSTS, 0, offset + i, None, v, 0) for i, v in enumerate(values)]
        offset += len(batch)
        t2, c2 = time.perf_counter(), time.process_time()
        run_stage(incidents, batch)
        t3, c3 = time.perf_counter(), time.process_time()
        incidents.producer.take()  # type: ignore[attr-defined]
        spent["nlp"] += t1 - t0
        spent["nlp_cpu"] += c1 - c0
        spent["incidents"] += t3 - t2
        spent["incidents_cpu"] += c3 - c2
    return spent


def fingerprint(tracker: IncidentTracker) -> str:
    rows = sorted(
        f"{m.post_id}\t{c.id}\t{m.duplicate_of or ''}"
        for c in tracker.clusters.values()
        for m in c.members.values()
    )
    return hashlib.sha1("\n".join(rows).encode()).hexdigest()[:16]


# --- quality on the labelled stories ------------------------------------------------------------
def story_posts(gazetteer: Gazetteer) -> list[tuple[EnrichedPost, str]]:
    out = []
    for story in json.loads(STORIES.read_text(encoding="utf-8")):
        text, _ = clean_text(f"{story['title']}\n{story['content']}".strip())
        tokens = segment(text)
        tags = Tags(**story["tags"])
        tags.locations = gazetteer.resolve(text, tokens, story["region"])
        at = T0 + timedelta(minutes=story["minutes"])
        post = EnrichedPost(
            id=story["id"],
            source_id=story["source_id"],
            source_kind=story["source_kind"],
            url=story["url"] or f"https://example.cn/{story['id']}",
            title=story["title"],
            content=story["content"],
            published_at=at,
            fetched_at=at + timedelta(minutes=3),
            counts=Counts(**story["counts"]),
            region=story["region"],
            tokens=tokens,
            tags=tags,
        )
        label = story["story"] if story["story"] != "noise" else f"noise-{story['id']}"
        out.append((post, label))
    return out


def drill_posts(enricher: Enricher) -> list[tuple[EnrichedPost, str]]:
    def raw(url: str, content: str, at: str, title: str = "", reposts: int = 10) -> RawPost:
        return RawPost(
            id=post_id_for("drill", url),
            source_id="drill",
            source_kind="social",
            region="410727",
            url=url,
            title=title,
            content=content,
            published_at=at,
            fetched_at=at,
            counts=Counts(repost=reposts),
        )

    rows = [json.loads(line) for line in DRILL.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = [raw(r["url"], r["content"], r["seen_at"], title=r["title"]) for r in rows]
    at = "2026-11-21T15:20:00+08:00"
    school = raw("http://x/school", "听说下风口的学校已经提前放学了，孩子们都戴着口罩回家", at)
    housing = raw("http://x/housing", "封丘县城关镇拆迁安置房迟迟不交房，群众多次反映无人处理", at)
    labelled = [(p, "explosion") for p in posts] + [(school, "explosion"), (housing, "housing")]
    enriched = enricher.enrich_many([p for p, _ in labelled])
    return [(e, label) for e, (_, label) in zip(enriched, labelled, strict=True)]


def scores(gold: dict[str, str], found: dict[str, str]) -> dict[str, float]:
    """Pairwise and B-cubed precision/recall over the posts of ``gold`` (unplaced posts: singletons)."""
    ids = sorted(gold)
    pred = {p: found.get(p, f"none-{p}") for p in ids}
    by_gold, by_pred = defaultdict(set), defaultdict(set)
    for p in ids:
        by_gold[gold[p]].add(p)
        by_pred[pred[p]].add(p)
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            same_gold, same_pred = gold[a] == gold[b], pred[a] == pred[b]
            tp += same_gold and same_pred
            fp += same_pred and not same_gold
            fn += same_gold and not same_pred
    bp = sum(len(by_gold[gold[p]] & by_pred[pred[p]]) / len(by_pred[pred[p]]) for p in ids) / len(ids)
    br = sum(len(by_gold[gold[p]] & by_pred[pred[p]]) / len(by_gold[gold[p]]) for p in ids) / len(ids)
    return {
        "pair_p": tp / max(1, tp + fp),
        "pair_r": tp / max(1, tp + fn),
        "b3_p": bp,
        "b3_r": br,
        "b3_f1": 2 * bp * br / (bp + br),
    }


def quality(labelled: list[tuple[EnrichedPost, str]], orders: int) -> list[tuple[str, dict[str, float]]]:
    # a re-delivered post (same id, later counts) is one post: gold by id
    gold = {p.id: label for p, label in labelled}
    in_time = sorted(labelled, key=lambda pl: (pl[0].fetched_at, pl[0].id))
    runs = [("time order", [p for p, _ in in_time])]
    for seed in range(orders):
        shuffled = [p for p, _ in labelled]
        random.Random(seed).shuffle(shuffled)
        runs.append((f"shuffled {seed}", shuffled))
    out = []
    for name, posts in runs:
        tracker = IncidentTracker()
        for post in posts:
            tracker.add(post)
        out.append((name, scores(gold, tracker.post_cluster)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--spacing", type=float, default=5.0, help="seconds between posts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=int, default=15, help="functions of the profile to print")
    parser.add_argument("--orders", type=int, default=20, help="shuffled orders of the labelled stories")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"bench/incidents.py: needs the shared data at {SHARED}", file=sys.stderr)
        return 2
    logging.getLogger("yuqing").setLevel(logging.ERROR)
    tune_gc()  # as ``Worker.run`` does in every stage's process
    enricher = Enricher.load(None)
    raw = load_posts(args.posts, args.seed, args.spacing)
    enricher.enrich_many(load_posts(50, args.seed + 1, 1.0))  # warm-up (models, segmenter dictionary)

    # 1 and 2. the nlp stage and the incidents stage (on SQLite), batch by batch alternately
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or Path(tmp) / "yuqing.sqlite3"
        db = open_database(f"sqlite:///{db_path}")
        nlp_worker = EnrichWorker(_Bus(), enricher, FakeClock(T0))  # type: ignore[arg-type]
        inc_worker = IncidentsWorker(_Bus(), db, FakeClock(T0 + timedelta(days=1)))  # type: ignore[arg-type]
        spent = time_stages(nlp_worker, inc_worker, raw)
        sent = inc_worker.producer.sent
        db.close()
    nlp_wall, nlp_cpu, inc_wall, inc_cpu = (
        spent[k] for k in ("nlp", "nlp_cpu", "incidents", "incidents_cpu")
    )
    enriched = enricher.enrich_many(raw)
    relevant = sum(p.tags.relevant for p in enriched)

    # 3. IncidentTracker.add alone, profiled
    tracker = IncidentTracker()
    profiler = cProfile.Profile(time.process_time)  # CPU time: less noise from other work
    t0 = time.perf_counter()
    profiler.enable()
    for post in enriched:
        tracker.add(post)
    profiler.disable()
    add_wall = time.perf_counter() - t0
    tracker_plain = IncidentTracker()
    t0 = time.perf_counter()
    for post in enriched:
        tracker_plain.add(post)
    add_plain = time.perf_counter() - t0
    sizes = sorted((len(c.members) for c in tracker_plain.clusters.values()), reverse=True)

    n = len(raw)
    nlp_rate, inc_rate = n / nlp_wall, n / inc_wall
    print(
        f"posts: {n} real Weibo posts, one every {args.spacing:g}s, {relevant} tagged relevant "
        f"({relevant / n:.0%}), batches of {BATCH}"
    )
    print(f"nlp stage (EnrichWorker):          {nlp_rate:8.1f} posts/s  (cpu {n / nlp_cpu:8.1f})")
    print(
        f"incidents stage (IncidentsWorker): {inc_rate:8.1f} posts/s  (cpu {n / inc_cpu:8.1f}), "
        f"{sent} incident versions sent"
    )
    print(
        f"ratio incidents/nlp:               {inc_rate / nlp_rate:8.3f} (target >= 0.8); "
        f"in CPU time {nlp_cpu / inc_cpu:.3f}"
    )
    print(
        f"IncidentTracker.add alone:         {n / add_plain:8.1f} posts/s  "
        f"({n / add_wall:.1f} under cProfile)"
    )
    print(
        f"clustering: {len(sizes)} incidents, largest {sizes[:8]}, "
        f"{sum(s > 1 for s in sizes)} with more than one post; fingerprint {fingerprint(tracker_plain)}"
    )
    if args.profile > 0:
        print_profile(profiler, args.profile)

    # 4. quality
    print_quality(story_posts(Gazetteer.load()) + drill_posts(enricher), args.orders)
    return 0


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"profile of IncidentTracker.add, top {top} by own time:")
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    for line in lines[start : start + top + 1]:
        print("  " + line.replace(str(ROOT) + "/", "").replace(sys.prefix, "<venv>"))


def print_quality(labelled: list[tuple[EnrichedPost, str]], orders: int) -> None:
    results = quality(labelled, orders)
    stories = len({label for _, label in labelled})
    print(
        f"quality on {len({p.id for p, _ in labelled})} labelled posts ({stories} stories and noise), "
        f"time order and {orders} shuffles:"
    )
    head = results[0][1]
    print(
        "  time order:   pairwise P {pair_p:.3f} R {pair_r:.3f}   B-cubed P {b3_p:.3f} R {b3_r:.3f} "
        "F1 {b3_f1:.3f}".format(**head)
    )
    mean = {k: sum(r[k] for _, r in results[1:]) / max(1, len(results) - 1) for k in head}
    low = min(r["b3_f1"] for _, r in results[1:]) if len(results) > 1 else head["b3_f1"]
    print(
        "  shuffled mean: pairwise P {pair_p:.3f} R {pair_r:.3f}   B-cubed P {b3_p:.3f} R {b3_r:.3f} "
        "F1 {b3_f1:.3f}".format(**mean)
        + f"  (lowest F1 {low:.3f})"
    )


if __name__ == "__main__":
    sys.exit(main())
