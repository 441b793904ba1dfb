"""Precision and recall of near-duplicate detection (nlp/dedup.py) on a labelled set of post pairs.

    python bench/dedup.py [--threshold 0.5] [--bases 200] [--seed 7] [--speed [--baseline REV]]

The pairs are built from real short Weibo posts (../shared/data/weibo_emotion, 20–140 characters) and from
incident templates written for this bench:
- positives: repost chains (``评论//@用户:原文``, one or two levels), added hashtags, small edits (a few
  characters inserted, deleted or replaced, punctuation, emoji, links), and all of these combined;
- negatives: random pairs of different posts, the most similar *different* real post (hard), and the same
  incident template with a different place or a different number (hard).
- reposts laid out as a crawler reads them, ``评论//@用户:原文``, whose comment is another real Weibo post
  (../shared/data/weibo_sentiment) of under 20, 20–49 or 50 and more characters; a comment that ends in
  the digits of a laugh (``2333``, ``666``) before the marker, on a post that opens on a date; the same
  facts with 两/二/三 for 2/3; and as negatives, two reposts of different posts with the same long comment.
Prints precision, recall and F1 overall and recall or false-positive rate per kind, how many pairs with an
estimated similarity >= the threshold the LSH search did not return, and signatures/s.

``--speed``: the bench's texts (each once, places resolved beforehand; many near-duplicates of each
other), or with ``--tracker N`` what the incidents tracker gets of bench/incidents.py's first N posts (the
relevant ones, as the nlp stage tags them), as a stream, the way the tracker files a post: ``signature``,
then ``find`` in the index of the posts before it, then ``add``; µs per post for each, best of
``--rounds``. ``--baseline REV`` times nlp/dedup.py as it was at git
revision REV in the same run (rounds alternate between the two) and prints the ratio.
The shared data is read from ../shared/data beside the checkout, or from ``YUQING_SHARED_DATA``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.dedup import NearDuplicateIndex, Signature, normalize, shingles, signature  # noqa: E402

try:
    from nlp.dedup import quoted
except ImportError:  # before reposts were matched on what they repost

    def quoted(text: str) -> str | None:
        parts = re.split(r"//\s*@[^:：\s/]{1,30}[:：]", text)
        return parts[-1] if len(parts) > 1 else None


from nlp.location import Gazetteer  # noqa: E402
from nlp.tokenize import segment  # noqa: E402

SHARED_DATA = Path(os.environ.get("YUQING_SHARED_DATA") or ROOT.parent / "shared" / "data")
WEIBO = SHARED_DATA / "weibo_emotion" / "train.tsv"
COMMENT_POSTS = SHARED_DATA / "weibo_sentiment" / "train.tsv"
COMMENT_LENGTHS = {"<20": (4, 19), "20-49": (20, 49), ">=50": (50, 140)}
LAUGHS = ["2333", "666", "23333", "88"]
COMMENTS = [
    "转发",
    "太可怕了",
    "关注",
    "求真相",
    "希望有关部门尽快处理",
    "",
    "😡😡",
    "这也太离谱了吧",
    "mark",
    "顶",
]
USERS = ["张三", "江湖夜雨", "小鱼儿2023", "南京吃货", "一只胖橘", "news_bot"]
TAGS = ["#热点#", "#社会新闻#", "#今日头条#", "#关注民生#", "#突发#"]
EMOJI = ["😭", "😡", "[蜡烛]", "[怒]", "👍", "🙏"]
PUNCT = "，。！？、…"
TEMPLATES = [
    "{p}一小区发生火灾，已造成{n}人受伤，消防部门正在全力救援",
    "{p}一辆大巴侧翻，车上{n}人受伤送医，事故原因正在调查",
    "{p}一化工厂发生爆炸，{n}人死亡，当地已成立事故调查组",
    "{p}多所学校{n}名学生出现呕吐腹泻症状，疑似食物中毒，市场监管部门已介入",
    "{p}暴雨致{n}个村庄被淹，当地紧急转移群众，请大家注意安全",
    "{p}一在建工地塔吊倒塌，{n}名工人被困，救援仍在进行",
    "{p}居民反映小区停水已经{n}天了，打热线也没人管，希望尽快解决",
    "{p}一自建房倒塌，{n}人被埋，应急管理部门已派出工作组",
]
PLACES = [
    "南京市鼓楼区",
    "徐州市鼓楼区",
    "福州市鼓楼区",
    "北京朝阳区",
    "长春朝阳区",
    "广西南宁",
    "湖北仙桃",
    "杭州西湖区",
    "成都武侯区",
    "郑州金水区",
]


def load_posts(n: int, rng: random.Random) -> list[str]:
    with WEIBO.open(encoding="utf-8") as fh:
        texts = {row["text"].strip() for row in csv.DictReader(fh, delimiter="\t")}
    short = sorted(t for t in texts if 20 <= len(t) <= 140 and len(normalize(t)) >= 15)
    return rng.sample(short, n)


def load_comments(rng: random.Random) -> dict[str, list[str]]:
    """Real Weibo posts to use as repost comments, by length (one line, no repost chain of their own)."""
    with COMMENT_POSTS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    texts = sorted({r[1].strip() for r in rows if len(r) >= 2 and "//" not in r[1] and "@" not in r[1]})
    out = {}
    for name, (lo, hi) in COMMENT_LENGTHS.items():
        fitting = [t for t in texts if lo <= len(t) <= hi]
        rng.shuffle(fitting)
        out[name] = fitting
    return out


def repost(text: str, rng: random.Random) -> str:
    chain = f"{rng.choice(COMMENTS)}//@{rng.choice(USERS)}:"
    if rng.random() < 0.4:
        chain = f"{rng.choice(COMMENTS)}//@{rng.choice(USERS)}:{chain}"
    return chain + text


def hashtag(text: str, rng: random.Random) -> str:
    head = f"{rng.choice(TAGS)} " if rng.random() < 0.7 else ""
    tail = f" {rng.choice(TAGS)}" if not head or rng.random() < 0.3 else ""
    return head + text + tail


def edit(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(("insert", "delete", "replace_punct"))
        i = rng.randrange(len(chars))
        if op == "insert":
            chars.insert(i, rng.choice(PUNCT + "啊呀了的"))
        elif op == "delete" and len(chars) > 10 and not chars[i].isdigit():
            del chars[i]
        else:
            chars.insert(i, rng.choice(PUNCT))
    out = "".join(chars)
    if rng.random() < 0.5:
        out += rng.choice(EMOJI) * rng.randint(1, 3)
    if rng.random() < 0.3:
        out += " http://t.cn/A6" + "".join(rng.choices("abcdefXYZ0123", k=5))
    return out


def build_pairs(bases: int, seed: int) -> list[tuple[str, str, bool, str]]:
    """(a, b, is_duplicate, kind)"""
    rng = random.Random(seed)
    posts = load_posts(bases, rng)
    pairs: list[tuple[str, str, bool, str]] = []
    for text in posts:
        pairs.append((text, repost(text, rng), True, "repost chain"))
        pairs.append((text, hashtag(text, rng), True, "hashtags"))
        pairs.append((text, edit(text, rng), True, "small edit"))
        pairs.append((text, repost(hashtag(edit(text, rng), rng), rng), True, "combined"))
    pairs.extend(crawler_reposts(posts, random.Random(seed + 1)))
    grams = [shingles(normalize(t)) for t in posts]
    for i, text in enumerate(posts):
        j = rng.randrange(len(posts) - 1)
        pairs.append((text, posts[j if j < i else j + 1], False, "random other post"))
        sims = [(len(grams[i] & g) / max(1, len(grams[i] | g)), k) for k, g in enumerate(grams) if k != i]
        sim, k = max(sims)
        same_repost = quoted(text) is not None and normalize(quoted(text) or "") == normalize(
            quoted(posts[k]) or ""
        )
        if sim < 0.8 and not same_repost:  # else they may really be the same post, or repost the same post
            pairs.append((text, posts[k], False, "most similar other post"))
    for template in TEMPLATES:
        for _ in range(6):
            p1, p2 = rng.sample(PLACES, 2)
            n1, n2 = rng.sample(range(2, 40), 2)
            base = template.format(p=p1, n=n1)
            pairs.append((base, template.format(p=p2, n=n1), False, "template, other place"))
            pairs.append((base, template.format(p=p1, n=n2), False, "template, other number"))
            pairs.append((base, repost(hashtag(edit(base, rng), rng), rng), True, "template, same facts"))
    return pairs


def crawler_reposts(posts: list[str], rng: random.Random) -> list[tuple[str, str, bool, str]]:
    """Reposts as a crawler reads them: ``评论//@用户:原文`` with real comments of three lengths (and a
    second level for one in three); laughs in digits before the marker; 两 for 2; and, as negatives, the
    same long comment on reposts of two different posts."""
    comments = load_comments(rng)
    pairs: list[tuple[str, str, bool, str]] = []
    for i, text in enumerate(posts):
        for name, pool in comments.items():
            chain = f"{pool[i % len(pool)]}//@{rng.choice(USERS)}:"
            if rng.random() < 0.33:
                chain += f"{rng.choice(COMMENTS)}//@{rng.choice(USERS)}:"
            pairs.append((text, chain + text, True, f"crawler repost, comment {name}"))
        other = posts[(i + 1) % len(posts)]
        long_comment = comments[">=50"][-1 - i % len(comments[">=50"])]
        pairs.append(
            (
                f"{long_comment}//@{rng.choice(USERS)}:{text}",
                f"{long_comment}//@{rng.choice(USERS)}:{other}",
                False,
                "same long comment, other post",
            )
        )
    for template in TEMPLATES:
        for _ in range(6):
            place, n = rng.choice(PLACES), rng.randrange(2, 40)
            base = template.format(p=place, n=n)
            laugh = f"{rng.choice(comments['<20'])}{rng.choice(LAUGHS)}//@{rng.choice(USERS)}:"
            dated = f"{rng.randrange(1, 29)}日{rng.randrange(0, 24)}时许，{base}"  # opens on a date
            pairs.append((dated, laugh + dated, True, "repost after digits of a laugh"))
            digit, hanzi = rng.choice([(2, "两"), (2, "二"), (3, "三"), (10, "十"), (12, "十二")])
            pairs.append(
                (template.format(p=place, n=digit), template.format(p=place, n=hanzi), True, "2 and 两")
            )
    return pairs


def returned(index: NearDuplicateIndex, sig: Signature) -> bool:
    """Whether the LSH search returns the indexed post as a candidate for ``sig``."""
    if hasattr(index, "candidates"):
        return bool(index.candidates(sig))
    return bool(index._lsh.query(sig.minhash))  # before nlp/dedup.py had its own banding


def baseline_module(rev: str) -> ModuleType:
    """nlp/dedup.py as it was at git revision ``rev``, imported as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:nlp/dedup.py"], check=True, capture_output=True, text=True
    ).stdout
    spec = importlib.util.spec_from_loader("bench_dedup_baseline", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:nlp/dedup.py", "exec"), module.__dict__)
    return module


def stream_times(module: ModuleType, posts: list[tuple[str, list[str]]]) -> tuple[float, float, float]:
    """Seconds spent in signature, find and add over the posts as one stream into a fresh index."""
    index = module.NearDuplicateIndex()
    spent = [0.0, 0.0, 0.0]
    clock = time.perf_counter
    for i, (text, places) in enumerate(posts):
        t0 = clock()
        sig = module.signature(text, places)
        t1 = clock()
        index.find(sig)
        t2 = clock()
        index.add(f"post-{i}", sig)
        t3 = clock()
        spent[0] += t1 - t0
        spent[1] += t2 - t1
        spent[2] += t3 - t2
    return spent[0], spent[1], spent[2]


def bench_texts(pairs: list[tuple[str, str, bool, str]], gaz: Gazetteer) -> list[tuple[str, list[str]]]:
    """Each text of the bench's pairs once, with its location codes."""
    texts = list(dict.fromkeys(t for a, b, _, _ in pairs for t in (a, b)))
    return [(t, [loc.code for loc in gaz.resolve(t, segment(t))]) for t in texts]


def tracker_stream(n: int) -> list[tuple[str, list[str]]]:
    """What the incidents tracker passes to ``signature`` for the first ``n`` posts of bench/incidents.py's
    stream (real Weibo posts through the nlp stage): each relevant post's cleaned text and location codes."""
    import bench.corpus

    bench.corpus.SHARED = SHARED_DATA
    from bench.incidents import load_posts
    from nlp.enrich import Enricher
    from nlp.tokenize import clean_text

    posts = Enricher.load(None).enrich_many(load_posts(n, 7, 5.0))
    return [(clean_text(p.text)[0], [loc.code for loc in p.tags.locations]) for p in posts if p.tags.relevant]


def speed(posts: list[tuple[str, list[str]]], baseline: str | None, rounds: int) -> None:
    modules = {"now": sys.modules[NearDuplicateIndex.__module__]}
    if baseline:
        modules[baseline] = baseline_module(baseline)
    best: dict[str, list[float]] = {name: [float("inf")] * 3 for name in modules}
    for r in range(rounds):
        for name in list(modules)[:: 1 if r % 2 == 0 else -1]:
            spent = stream_times(modules[name], posts)
            best[name] = [min(x, y) for x, y in zip(best[name], spent, strict=True)]
    print(f"speed: {len(posts)} posts as one stream, µs per post (best of {rounds} rounds)")
    print(f"  {'':<12} {'signature':>10} {'find':>8} {'add':>8} {'total':>8}")
    for name, spent in best.items():
        us = [1e6 * x / len(posts) for x in spent]
        print(f"  {name:<12} {us[0]:>10.1f} {us[1]:>8.1f} {us[2]:>8.1f} {sum(us):>8.1f}")
    if baseline:
        ratios = [now / old for now, old in zip(best["now"], best[baseline], strict=True)]
        ratios.append(sum(best["now"]) / sum(best[baseline]))
        print(
            f"  {'now/' + baseline:<12} "
            + " ".join(f"{r:>{w}.2f}" for r, w in zip(ratios, (10, 8, 8, 8), strict=True))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--bases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", action="store_true", help="time signature, find and add per post")
    parser.add_argument("--baseline", metavar="REV", help="with --speed: time nlp/dedup.py of git REV too")
    parser.add_argument("--rounds", type=int, default=3, help="with --speed: rounds, the best counts")
    parser.add_argument(
        "--tracker",
        type=int,
        metavar="N",
        help="with --speed: time the relevant posts of bench/incidents.py's first N posts instead",
    )
    args = parser.parse_args()
    if args.speed and args.tracker:
        speed(tracker_stream(args.tracker), args.baseline, args.rounds)
        return
    pairs = build_pairs(args.bases, args.seed)
    gaz = Gazetteer.load()
    if args.speed:
        speed(bench_texts(pairs, gaz), args.baseline, args.rounds)
        return

    def sig(text: str) -> Signature:
        return signature(text, [loc.code for loc in gaz.resolve(text, segment(text))])

    start = time.perf_counter()
    sigs = [(sig(a), sig(b)) for a, b, _, _ in pairs]
    per_second = 2 * len(pairs) / (time.perf_counter() - start)
    outcome: Counter[str] = Counter()
    by_kind: dict[str, Counter[bool]] = defaultdict(Counter)
    unreturned = 0  # estimated similarity >= threshold, not returned by the LSH search
    for (_, _, label, kind), (sa, sb) in zip(pairs, sigs, strict=True):
        index = NearDuplicateIndex(args.threshold)
        index.add("a", sa)
        found = index.find(sb) == "a"
        unreturned += bool(sb.similarity(sa) >= args.threshold and not returned(index, sb))
        outcome[("t" if found == label else "f") + ("p" if found else "n")] += 1
        by_kind[kind][found] += 1
    precision = outcome["tp"] / max(1, outcome["tp"] + outcome["fp"])
    recall = outcome["tp"] / max(1, outcome["tp"] + outcome["fn"])
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    positives = sum(1 for p in pairs if p[2])
    print(
        f"pairs: {len(pairs)} ({positives} near-duplicates, {len(pairs) - positives} not), "
        f"threshold {args.threshold}, seed {args.seed}"
    )
    print(
        f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
        f"(tp {outcome['tp']} fp {outcome['fp']} fn {outcome['fn']} tn {outcome['tn']})"
    )
    for kind, counts in by_kind.items():
        label = next(p[2] for p in pairs if p[3] == kind)
        rate = counts[True] / max(1, sum(counts.values()))
        what = "recall" if label else "false positives"
        print(f"  {kind:<26} {what:<16} {rate:.3f}  ({counts[True]}/{sum(counts.values())})")
    print(f"pairs with estimated similarity >= {args.threshold} the LSH search did not return: {unreturned}")
    print(f"signatures (location resolution included): {per_second:,.0f} texts/s")


if __name__ == "__main__":
    main()
