"""What the incidents stage matches a post on, computed once, in the nlp stage: its content words' weights
(``terms``: sub-linear term frequencies of the words that tell what a post is about) and the kinds of
emergency it names (``event_kinds_of_tokens``).

The incidents stage runs as one process (its clustering is one memory), while nlp scales out over the
partitions; so this per-post work is done in nlp, like the near-duplicate signature
(``nlp.post_signature``): ``attach`` sets ``EnrichedPost.cluster_terms`` on the posts the incidents
stage files (relevant ones and declared 留言), with ``SCHEME``, a fingerprint of the word lists and
limits below. ``of_post`` gives the incidents stage a post's terms and kinds: the carried ones when they
are of the current scheme, else computed from the post's tokens (a post from an older nlp, or built
without them), so the result is the same either way.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from nlp.filing import is_filed
from yuqing.schemas import ClusterTerms, EnrichedPost

MAX_TERMS = 100

# Kinds of emergency, by the words posts use for them. Posts about the same kind of emergency in related
# places within a day (``incidents.clustering.EVENT_GAP``) are the same event to a duty officer, however
# differently they are worded (an eyewitness's 巨响, the hospital's 伤员, the bulletin's 爆炸事故).
# ``accident`` words are generic: they join an incident of any kind, but two specific kinds never join on
# them (a 车祸 is not the 爆炸); the aftermath's words (evacuation, shelters, the downwind side) are generic
# ones too. A word that jieba splits (下风口 → 下 风口) is matched as that run of tokens, without
# segmenting anything here.
_EVENT_WORDS = {
    "explosion": "爆炸 爆燃 巨响 炸响",
    "fire": "火灾 起火 失火 大火 着火 明火 浓烟",
    "collapse": "坍塌 垮塌 塌方 倒塌",
    "leak": "泄漏 中毒 毒气 刺鼻",
    "flood": "洪水 内涝 决堤 溺水 溺亡 漫堤",
    "crowd": "踩踏 聚集 群体性",
    "epidemic": "疫情 感染 确诊 传染",
    "quake": "地震 余震",
    "landslide": "滑坡 泥石流",
    "traffic": "车祸 追尾 相撞 侧翻",
    "accident": "事故 遇难 伤亡 伤员 死亡 受伤 失联 救援 搜救 疏散 撤离 安置点 下风口 下风向",
}
EVENT_TYPES: dict[str, str] = {w: kind for kind, words in _EVENT_WORDS.items() for w in words.split()}

_WORD = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]{2,20}$")  # Chinese, or a plain Latin word (PX, COVID)
STOPWORDS_FILE = Path(__file__).resolve().parent / "incident_stopwords.txt"
STOPWORDS = frozenset(
    word
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)


def terms(tokens: Iterable[str]) -> dict[str, float]:
    """Sub-linear term frequencies of the (at most ``MAX_TERMS`` most frequent) content words."""
    counts = Counter(t for t in tokens if len(t) >= 2 and t not in STOPWORDS and _WORD.match(t))
    return {
        t: 1.0 + math.log(n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
    }


def event_kinds(terms: Iterable[str]) -> set[str]:
    return {EVENT_TYPES[t] for t in terms if t in EVENT_TYPES}


_EVENT_PREFIXES = frozenset(w[:k] for w in EVENT_TYPES for k in range(1, len(w) + 1))


def event_kinds_of_tokens(tokens: Sequence[str]) -> set[str]:
    """The kinds of emergency a post's tokens name: an event word is a token or a run of tokens that
    segmentation split it into (下风口 → 下 风口)."""
    kinds: set[str] = set()
    for i, token in enumerate(tokens):
        run = token
        j = i + 1
        while run in _EVENT_PREFIXES:
            if run in EVENT_TYPES:
                kinds.add(EVENT_TYPES[run])
            if j == len(tokens):
                break
            run += tokens[j]
            j += 1
    return kinds


def _scheme() -> str:
    """A fingerprint of everything ``terms`` and the kinds of emergency depend on."""
    parts = [
        str(MAX_TERMS),
        _WORD.pattern,
        " ".join(sorted(STOPWORDS)),
        " ".join(f"{w}={k}" for w, k in sorted(EVENT_TYPES.items())),
    ]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


SCHEME = _scheme()


def computed(post: EnrichedPost) -> ClusterTerms:
    events = sorted(event_kinds_of_tokens(post.tokens))
    return ClusterTerms(weights=terms(post.tokens), events=events, scheme=SCHEME)


def of_post(post: EnrichedPost) -> tuple[dict[str, float], list[str]]:
    """The post's term weights and kinds of emergency (sorted): as nlp carried them, else computed here."""
    carried = post.cluster_terms
    if carried is None or carried.scheme != SCHEME:
        carried = computed(post)
    return dict(carried.weights), list(carried.events)


def attach(posts: Iterable[EnrichedPost]) -> None:
    """Carry the terms on each post the incidents stage files (relevant, or a declared 留言)."""
    for post in posts:
        if is_filed(post):
            post.cluster_terms = computed(post)
