"""Index N synthetic Chinese posts into the SQLite FTS5 store; print docs/s indexed and queries/s.

    python bench/search.py --docs 20000 --queries 300

Posts are made of words drawn from jieba's dictionary by frequency (as the nlp stage would emit
them as tokens), spread over 30 days, 20 sources, 8 categories and 50 counties.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
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


def synthetic_posts(n: int, rng: random.Random) -> list[EnrichedPost]:
    words, weights = vocabulary(20_000)
    posts = []
    for i in range(n):
        title = rng.choices(words, weights, k=8)
        content = rng.choices(words, weights, k=rng.randint(30, 120))
        when = START + timedelta(seconds=rng.randrange(30 * 86400))
        posts.append(EnrichedPost(
            id=f"p{i}", source_id=f"src{rng.randrange(20)}", url=f"https://example.cn/{i}",
            title="".join(title), content="".join(content), published_at=when, fetched_at=when,
            tokens=[*title, *content], heat=rng.random() * 100,
            tags=Tags(category=rng.choice(CATEGORIES), sentiment=Sentiment(label=rng.choice(SENTIMENTS)),
                      locations=[Location(name=c, code=c) for c in rng.sample(COUNTIES, rng.randint(0, 2))]),
        ))
    return posts


class Timer:
    """Wall and CPU seconds of a block: on a shared machine the CPU figure is the steadier one."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rate(self, count: int) -> str:
        return (f"{count / self.wall:,.0f}/s wall, {count / self.cpu:,.0f}/s cpu"
                f" ({count} in {self.wall:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100, help="posts per index call (the indexer's batch)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    query_terms("自来水")  # load the query segmenter before anything is timed
    posts = synthetic_posts(args.docs, rng)
    words, _ = vocabulary(5_000)
    query_words = words[500:5_000]  # common but not stop-word common

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteFtsStore(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        store.ensure_schema()
        with Timer() as timer:
            for i in range(0, len(posts), args.batch):
                store.index(posts[i:i + args.batch])
        print(f"indexed    {timer.rate(len(posts))}  batch={args.batch}")
        size_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        print(f"store size {size_mb:.1f} MB for {len(posts)} posts")

        with Timer() as timer:
            store.index(posts[: args.batch])
        print(f"re-indexed {timer.rate(args.batch)}  (upsert of existing posts)")

        def two_words() -> str:
            return "".join(rng.sample(query_words, 2))

        kinds: dict[str, Callable[[], SearchQuery]] = {
            "text (2 words, top 20)": lambda: SearchQuery(text=two_words()),
            "text + filters": lambda: SearchQuery(text=two_words(), categories=[rng.choice(CATEGORIES)],
                                                  location_codes=[rng.choice(COUNTIES)[:2] + "0000"]),
            "text + 3 facets + day histogram": lambda: SearchQuery(
                text=two_words(), facets=["category", "source_id", "location_code"], histogram="day"),
            "filters only, newest first": lambda: SearchQuery(
                categories=[rng.choice(CATEGORIES)], start=START + timedelta(days=rng.randrange(20)),
                sort="time"),
            "all posts, facets + histogram": lambda: SearchQuery(
                facets=["category", "sentiment"], histogram="day", size=0),
        }
        for make in kinds.values():  # warm the page cache and the segmenter first
            for _ in range(20):
                store.search(make())
        for name, make in kinds.items():
            queries = [make() for _ in range(args.queries)]
            with Timer() as timer:
                hits = sum(store.search(q).total for q in queries)
            print(f"queried    {timer.rate(len(queries))}  {name}; mean total {hits / len(queries):,.0f}")
        store.close()


if __name__ == "__main__":
    main()
