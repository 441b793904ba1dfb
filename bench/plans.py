"""The nlp stage with 0, 100 and 2,000 监测方案, same posts, one run: posts/s and the ratios.

    python -P bench/plans.py [--posts 2000] [--rounds 3]

Posts are bench/corpus.py's mix of real posts (Weibo posts, news titles, citizen messages). Each batch of
64 goes through what the nlp stage does with it: ``Enricher.enrich_many`` then ``apply_plans`` with the
matcher of N plans (N = 0 is the stage without plans). The plans are made like real ones from the
gazetteer and common event words: a place plan per county (``(县|市)+(event words)-(exclusions)``) and topic
plans (``title:(…)+(…)``), with every word real. The configurations are timed batch by batch, alternately
(the machine is shared; each goes first as often), summed per round, in CPU time of this process (what the
stage spends; less sensitive to other load) and in wall-clock time; the round with the median CPU ratio
at the largest N is printed.
Target: ratio >= 0.9 at 2,000 plans.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import bench.corpus  # noqa: E402
from bench.corpus import raw_posts  # noqa: E402
from nlp.enrich import Enricher  # noqa: E402
from nlp.plans.matcher import PlanMatcher  # noqa: E402
from nlp.plans.stage import apply_plans  # noqa: E402
from yuqing.expression import parse_plan  # noqa: E402

BATCH = 64
EVENTS = ("爆炸", "起火", "火灾", "泄漏", "中毒", "坍塌", "塌方", "溺水", "车祸", "死亡", "受伤",
          "停水", "停电", "污染", "异味", "排污", "欠薪", "拖欠", "上访", "维权", "纠纷", "投诉", "举报",
          "违建", "拆迁",
          "补偿", "强拆", "涨价", "食物中毒", "疫情", "发热", "暴雨", "洪水", "内涝", "地震", "滑坡")
EXCLUDE = ("演练", "演习", "培训", "表彰", "宣传", "总结", "会议", "讲座")
TOPICS = ("学校", "医院", "物业", "燃气", "自来水", "公交", "地铁", "电梯", "幼儿园", "养老院", "食堂",
          "工地", "化工厂", "煤矿", "小区", "菜市场", "出租车", "高速", "景区", "派出所")


def make_plans(n: int, seed: int = 11) -> list[str]:
    with (ROOT / "nlp" / "gazetteer" / "divisions.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t")][1:]
    counties = [r[1] for r in rows if r[2] == "county" and len(r[1]) >= 2]
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        if i % 4 == 3:
            plans.append(f"title:({'|'.join(rng.sample(TOPICS, 3))})+({'|'.join(rng.sample(EVENTS, 5))})")
            continue
        county = counties[rng.randrange(len(counties))]
        short = county[:-1] if len(county) > 2 and county[-1] in "县市区旗" else county
        events = "|".join(rng.sample(EVENTS, 6))
        plans.append(f"({county}|{short})+({events})-({'|'.join(rng.sample(EXCLUDE, 3))})")
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.environ.get("YUQING_SHARED_DATA"):  # a checkout elsewhere than beside ../shared
        bench.corpus.SHARED = Path(os.environ["YUQING_SHARED_DATA"])
    if not bench.corpus.SHARED.is_dir():
        print(f"bench/plans.py: needs the shared data at {bench.corpus.SHARED} (or YUQING_SHARED_DATA)",
              file=sys.stderr)
        return 2
    sizes = (0, 100, 2000)
    built = time.perf_counter()
    matchers = {n: PlanMatcher((i, parse_plan(text)) for i, text in enumerate(make_plans(n))) for n in sizes}
    built = time.perf_counter() - built
    enricher = Enricher.load()
    everything = raw_posts(50 + args.posts * args.rounds)
    warm, everything = everything[:50], everything[50:]
    enricher.enrich_many(warm)
    rounds = []
    matched = dict.fromkeys(sizes, 0)
    for r in range(args.rounds):
        posts = everything[r * args.posts:(r + 1) * args.posts]
        spent = {(size, clock): 0.0 for size in sizes for clock in ("cpu", "wall")}
        for b, start in enumerate(range(0, len(posts), BATCH)):
            batch = posts[start:start + BATCH]
            order = sizes[b % len(sizes):] + sizes[:b % len(sizes)]  # each goes first as often
            for n in order:  # alternately, so load on the shared machine falls on every configuration
                c0, t0 = time.process_time(), time.perf_counter()
                enriched = enricher.enrich_many(batch)
                if n:
                    matched[n] += apply_plans(matchers[n], enriched)
                spent[n, "cpu"] += time.process_time() - c0
                spent[n, "wall"] += time.perf_counter() - t0
        rounds.append(spent)
    rounds.sort(key=lambda s: s[0, "cpu"] / s[sizes[-1], "cpu"])
    median = rounds[len(rounds) // 2]
    n = args.posts
    print(f"posts: {n} a round, batches of {BATCH}, median of {args.rounds} rounds; "
          f"matchers built in {built:.2f} s")
    for size in sizes:
        cpu, wall = n / median[size, "cpu"], n / median[size, "wall"]
        hits = f"; {matched[size] / args.rounds / n:.1%} of posts matched a plan" if size else ""
        print(f"{size:>5} plans: {cpu:8.1f} posts/s of CPU, ratio {cpu * median[0, 'cpu'] / n:.3f}"
              f" (wall clock {wall:7.1f} posts/s, ratio {wall * median[0, 'wall'] / n:.3f}){hits}")
    print("target: ratio >= 0.9 at 2000 plans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
