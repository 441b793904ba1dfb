"""Throughput of the nlp stage's enrichment against plain jieba segmentation, same posts, same run.

    python bench/tagging.py [--posts 2000] [--rounds 5] [--model FILE]

Posts are a fixed mix from the shared labeled sets (Weibo posts, news titles, citizen messages), made into
RawPosts (two in three with a source region); every round and the warm-up get posts of their own, so nothing
kept from an earlier round (plain jieba caches nothing per text, but a cache anywhere in the stage would
flatter it) is met again except as often as real posts repeat each other. "enrichment" =
``nlp.enrich.Enricher.enrich_many`` on batches of 64 RawPosts, the very call the nlp stage makes on each
polled batch (clean, segment once, tag, places, heat, EnrichedPost; segmentation is jieba-rs,
``nlp.tokenize.segment``); "jieba" = plain ``jieba.lcut`` (the Python jieba) of each post's text, the
yardstick. The machine is shared, so the two are timed batch by batch, alternately, and summed per round;
the round with the median ratio is printed. A last round times the steps of the enrichment one by one (same
order as ``enrich_many``) to show where the time goes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import jieba

# this file is named nlp.py: keep its folder off the import path so `nlp` is the project's package
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.corpus import SHARED, raw_posts  # noqa: E402
from nlp.enrich import Enricher  # noqa: E402
from yuqing.schemas import RawPost  # noqa: E402

BATCH = 64


def plain(batch: list[str]) -> None:
    for text in batch:
        jieba.lcut(text)


def one_round(enricher: Enricher, posts: list[RawPost], texts: list[str]) -> dict[str, float]:
    """Wall and CPU seconds of the enrichment and of plain jieba on all posts, batch by batch alternately."""
    spent = dict.fromkeys(("full", "plain", "full_cpu", "plain_cpu"), 0.0)
    for start in range(0, len(posts), BATCH):
        t0, c0 = time.perf_counter(), time.process_time()
        plain(texts[start : start + BATCH])
        t1, c1 = time.perf_counter(), time.process_time()
        enricher.enrich_many(posts[start : start + BATCH])
        t2, c2 = time.perf_counter(), time.process_time()
        spent["plain"] += t1 - t0
        spent["full"] += t2 - t1
        spent["plain_cpu"] += c1 - c0
        spent["full_cpu"] += c2 - c1
    return spent


def steps(enricher: Enricher, posts: list[RawPost]) -> dict[str, float]:
    """Seconds per step of the enrichment, summed over all posts (the steps of ``enrich_many``, in order)."""
    names = ("clean_text", "segment", "tagger.tag_many", "gazetteer.resolve", "EnrichedPost + heat")
    spent = dict.fromkeys(names, 0.0)
    for start in range(0, len(posts), BATCH):
        batch = posts[start : start + BATCH]
        t = [time.perf_counter()]
        cleaned = enricher.clean(batch)
        t.append(time.perf_counter())
        texts = [text for text, _ in cleaned]
        tokens = enricher.segment(texts)
        t.append(time.perf_counter())
        tags = enricher.tagger.tag_many(texts, tokens)
        t.append(time.perf_counter())
        places = enricher.places(batch, texts, tokens)
        t.append(time.perf_counter())
        enricher.build(batch, cleaned, tokens, tags, places)
        t.append(time.perf_counter())
        for name, before, after in zip(names, t[:-1], t[1:], strict=True):
            spent[name] += after - before
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"bench/tagging.py: needs the shared data at {SHARED}", file=sys.stderr)
        return 2
    jieba.setLogLevel(logging.WARNING)
    everything = raw_posts(50 + args.posts * (args.rounds + 1))
    if len(everything) < 50 + args.posts * (args.rounds + 1):
        need = f"{args.rounds + 1} rounds of {args.posts}"
        print(f"bench/tagging.py: not enough posts for {need}", file=sys.stderr)
        return 2
    warm, everything = everything[:50], everything[50:]
    per_round = [everything[r * args.posts : (r + 1) * args.posts] for r in range(args.rounds + 1)]
    enricher = Enricher.load(args.model)
    plain([p.text for p in warm])
    enricher.enrich_many(warm)
    rounds = sorted(
        (one_round(enricher, posts, [p.text for p in posts]) for posts in per_round[:-1]),
        key=lambda r: r["plain"] / r["full"],
    )
    posts = per_round[-1]  # for the steps
    median = rounds[len(rounds) // 2]
    n = len(posts)
    f, j = n / median["full"], n / median["plain"]
    chars = sum(len(p.text) for p in everything) / len(everything)
    print(f"posts: {n} a round (mean {chars:.0f} chars), batches of {BATCH}, median of {args.rounds} rounds")
    print(f"plain jieba.lcut:                  {j:8.1f} posts/s  {1e6 / j:6.1f} µs/post")
    print(f"enrichment (Enricher.enrich_many): {f:8.1f} posts/s  {1e6 / f:6.1f} µs/post")
    print(f"ratio enrichment/jieba:            {f / j:8.3f} (target >= 1.5)")
    cpu = median["plain_cpu"] / median["full_cpu"]
    print(f"same, in CPU time of this process: {cpu:8.3f} (less sensitive to other load on the machine)")
    print("steps of the enrichment (one more round):")
    for name, seconds in steps(enricher, posts).items():
        print(f"  {name:<22} {1e6 * seconds / n:6.1f} µs/post")
    return 0


if __name__ == "__main__":
    sys.exit(main())
