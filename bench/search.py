"""Index N synthetic Chinese posts into the SQLite FTS5 store; print docs/s indexed, and per query kind
the rate and the p50/p95 latency.

    python bench/search.py --docs 20000 --queries 300
    python bench/search.py --docs 1000000 --store /tmp/bench-1m.sqlite3   # keep the file; a second
                                                                           # run on it only queries

The first lines say how long opening took (on a kept file of an older schema: the in-place upgrade)
and how long reading the store's in-memory facet columns took (yuqing/storage/facet_columns.py: once
per process, in the background from the first full-text query with facets on; read here before timing).

Posts are made of words drawn from jieba's dictionary by frequency (as the nlp stage would emit
them as tokens), spread over 30 days, 20 sources, 8 categories and 50 counties. They are generated
and indexed a chunk at a time, so a million posts never sit in memory at once.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jieba

from yuqing.schemas import EnrichedPost, Location, Sentiment, Tags
from yuqing.storage import SearchQuery
from yuqing.storage.base import query_terms
from yuqing.storage.sqlite_fts import SqliteFtsStore

CATEGORIES = ["供水", "交通", "教育", "医疗", "城建", "环保", "住房", "社保"]
SENTIMENTS = ["negative", "neutral", "positive"]
COUNTIES = [f"{p}{c:02d}{d:02d}" for p in ("11", "31", "44", "51", "61") for c in (1, 2) for d in range(1, 6)]
START = datetime(2025, 3, 1, tzinfo=UTC)
# what api/routes/search.py asks for every search page
CONSOLE_FACETS: list = ["source_id", "category", "location_code", "sentiment", "source_kind"]
CHUNK = 10_000  # posts generated at a time


def vocabulary(size: int) -> tuple[list[str], list[float]]:
    """The ``size`` most frequent words of two or more characters in jieba's dictionary."""
    words: list[tuple[str, int]] = []
    with Path(jieba.get_dict_file().name).open(encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if len(word) >= 2:
                words.append((word, int(freq)))
    words.sort(key=lambda wf: -wf[1])
    top = words[:size]
    return [w for w, _ in top], [float(f) for _, f in top]


def synthetic_posts(n: int, rng: random.Random) -> Iterator[EnrichedPost]:
    """The posts one at a time. ``cum_weights`` draws exactly what ``weights`` would (random.choices
    accumulates the weights itself), without summing 20,000 weights twice a post."""
    words, weights = vocabulary(20_000)
    cum = list(itertools.accumulate(weights))
    for i in range(n):
        title = rng.choices(words, cum_weights=cum, k=8)
        content = rng.choices(words, cum_weights=cum, k=rng.randint(30, 120))
        when = START + timedelta(seconds=rng.randrange(30 * 86400))
        yield EnrichedPost(
            id=f"p{i}", source_id=f"src{rng.randrange(20)}", url=f"https://example.cn/{i}",
            title="".join(title), content="".join(content), published_at=when, fetched_at=when,
            tokens=[*title, *content], heat=rng.random() * 100,
            tags=Tags(category=rng.choice(CATEGORIES), sentiment=Sentiment(label=rng.choice(SENTIMENTS)),
                      locations=[Location(name=c, code=c) for c in rng.sample(COUNTIES, rng.randint(0, 2))]),
        )


class Timer:
    """Wall and CPU seconds of one or more blocks: on a shared machine the CPU figure is the steadier one."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu

    def rate(self, count: int) -> str:
        return (f"{count / self.wall:,.0f}/s wall, {count / max(self.cpu, 1e-9):,.0f}/s cpu"
                f" ({count} in {self.wall:.2f} s)")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def build(store: SqliteFtsStore, docs: int, batch: int, rng: random.Random) -> list[EnrichedPost]:
    """Generate and index ``docs`` posts a chunk at a time; print the rate of the index calls alone.
    Returns the first batch (for the re-index figure)."""
    timer, first, done = Timer(), [], 0
    started = time.perf_counter()
    posts = synthetic_posts(docs, rng)
    while chunk := list(itertools.islice(posts, CHUNK)):
        first = first or chunk[:batch]
        for i in range(0, len(chunk), batch):
            with timer:
                store.index(chunk[i:i + batch])
        done += len(chunk)
        if docs >= 200_000 and done % 100_000 == 0:
            print(f"  … {done:,} posts, {time.perf_counter() - started:,.0f} s", file=sys.stderr, flush=True)
    print(f"indexed    {timer.rate(docs)}  batch={batch}"
          f" (generating and indexing took {time.perf_counter() - started:,.0f} s)")
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100, help="posts per index call (the indexer's batch)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", type=Path, help="keep the store in this file; if it already holds"
                        " --docs posts, only query it")
    args = parser.parse_args()

    query_terms("自来水")  # load the query segmenter before anything is timed
    words, _ = vocabulary(5_000)
    query_words = words[500:5_000]  # common but not stop-word common

    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "bench.sqlite3"
        store = SqliteFtsStore(f"sqlite:///{path}")
        with Timer() as timer:
            store.ensure_schema()  # on a kept file of an older schema: the migration
        print(f"opened     in {timer.wall:.2f} s")
        held = store.search(SearchQuery(size=0)).total
        if held not in (0, args.docs):
            sys.exit(f"{path} holds {held} posts, not {args.docs}: delete it or give another --store")
        if held == 0:
            first = build(store, args.docs, args.batch, random.Random(args.seed))
            with Timer() as timer:
                store.index(first)
            print(f"re-indexed {timer.rate(len(first))}  (upsert of existing posts)")
        size_mb = sum(f.stat().st_size for f in path.parent.glob(path.name + "*")) / 1e6
        print(f"store size {size_mb:,.1f} MB for {args.docs} posts")
        with Timer() as timer:  # what the first full-text query with facets starts in the background
            store.load_facet_columns()
        print(f"columns    loaded in {timer.wall:.2f} s (once per process; facets counted in SQL until then)")

        rng = random.Random(args.seed + 1)

        def two_words() -> str:
            return "".join(rng.sample(query_words, 2))

        either = random.Random(args.seed + 2)  # its own draws: the kinds above ask what they always asked

        def either_words() -> str:
            return " ".join(either.sample(query_words, 2))

        def day(lo: int = 0, hi: int = 30) -> datetime:
            return START + timedelta(days=rng.randrange(lo, hi))

        kinds: dict[str, Callable[[], SearchQuery]] = {
            "text (2 words, top 20)": lambda: SearchQuery(text=two_words()),
            "text + filters": lambda: SearchQuery(text=two_words(), categories=[rng.choice(CATEGORIES)],
                                                  location_codes=[rng.choice(COUNTIES)[:2] + "0000"]),
            "text + 3 facets + day histogram": lambda: SearchQuery(
                text=two_words(), facets=["category", "source_id", "location_code"], histogram="day"),
            "filters only, newest first": lambda: SearchQuery(
                categories=[rng.choice(CATEGORIES)], start=day(0, 20), sort="time"),
            "all posts, facets + histogram": lambda: SearchQuery(
                facets=["category", "sentiment"], histogram="day", size=0),
            "console page (5 facets + day histogram)": lambda: SearchQuery(
                facets=CONSOLE_FACETS, histogram="day"),
            "console page, a week of one category": lambda: SearchQuery(
                start=(s := day(0, 23) + timedelta(hours=rng.randrange(24))), end=s + timedelta(days=7),
                categories=[rng.choice(CATEGORIES)], histogram="day", facets=CONSOLE_FACETS),
            "hour histogram, 2 days to the minute": lambda: SearchQuery(
                start=(s := day(0, 28) + timedelta(minutes=rng.randrange(1440))), end=s + timedelta(days=2),
                histogram="hour", facets=["sentiment"], size=0),
            # two words apart match either (about 13k posts at 1M, where the joined two match ~60)
            "either of 2 words (top 20)": lambda: SearchQuery(text=either_words()),
            "either of 2 words + 3 facets + day hist.": lambda: SearchQuery(
                text=either_words(), facets=["category", "source_id", "location_code"], histogram="day"),
            "either of 2 words, console page": lambda: SearchQuery(
                text=either_words(), facets=CONSOLE_FACETS, histogram="day"),
        }
        for make in kinds.values():  # warm the page cache and the segmenter first
            for _ in range(5):
                store.search(make())
        print(f"{'query kind':42s} {'p50 ms':>8s} {'p95 ms':>8s}  rate")
        for name, make in kinds.items():
            queries = [make() for _ in range(args.queries)]
            timer, latencies, hits = Timer(), [], 0
            for q in queries:
                with timer:
                    t0 = time.perf_counter()
                    hits += store.search(q).total
                    latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            print(f"{name:42s} {percentile(latencies, 50):8.1f} {percentile(latencies, 95):8.1f}"
                  f"  {timer.rate(len(queries))}; mean total {hits / len(queries):,.0f}", flush=True)
        store.close()


if __name__ == "__main__":
    main()
