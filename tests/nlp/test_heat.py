"""Heat grows with every input and never falls when one of them grows (property tests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nlp.heat import incident_heat, post_heat
from yuqing.schemas import Counts

count = st.integers(min_value=0, max_value=10**9)
weight = st.floats(min_value=0.0, max_value=20.0, allow_nan=False)
share = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
burst = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
counts = st.builds(Counts, reply=count, repost=count, comment=count, like=count)
FIELDS = ("reply", "repost", "comment", "like")


@given(c=counts, w=weight, neg=st.booleans(), field=st.sampled_from(FIELDS), more=count)
def test_post_heat_monotone_in_each_count(c: Counts, w: float, neg: bool, field: str, more: int) -> None:
    bigger = c.model_copy(update={field: getattr(c, field) + more})
    assert post_heat(bigger, w, neg) >= post_heat(c, w, neg)


@given(c=counts, w=weight, more=weight)
def test_post_heat_monotone_in_source_weight_and_negativity(c: Counts, w: float, more: float) -> None:
    assert post_heat(c, w + more) >= post_heat(c, w)
    assert post_heat(c, w, negative=True) >= post_heat(c, w, negative=False)


@given(
    posts=count,
    sources=count,
    c=counts,
    w=weight,
    b=burst,
    neg=share,
    which=st.sampled_from(("posts", "sources", "source_weight", "burst", "negative_share", *FIELDS)),
    step=st.floats(min_value=0.0, max_value=1e3, allow_nan=False),
)
def test_incident_heat_monotone_in_each_input(
    posts: int, sources: int, c: Counts, w: float, b: float, neg: float, which: str, step: float
) -> None:
    args = {
        "posts": posts,
        "sources": sources,
        "counts": c,
        "source_weight": w,
        "burst": b,
        "negative_share": neg,
    }
    bigger = dict(args)
    if which in FIELDS:
        bigger["counts"] = c.model_copy(update={which: getattr(c, which) + int(step)})
    elif which in ("posts", "sources"):
        bigger[which] = args[which] + int(step)
    elif which == "negative_share":
        bigger[which] = min(1.0, neg + step)
    else:
        bigger[which] = args[which] + step
    assert incident_heat(**bigger) >= incident_heat(**args)


def test_more_posts_sources_and_engagement_rank_higher() -> None:
    quiet = incident_heat(posts=3, sources=1, counts=Counts(), burst=0.5)
    busy = incident_heat(posts=30, sources=8, counts=Counts(repost=500, comment=200, like=3000), burst=4)
    assert busy > 2 * quiet
    assert incident_heat(3, 1, Counts(), negative_share=1.0) > incident_heat(3, 1, Counts())
    assert post_heat(Counts(repost=10_000)) > post_heat(Counts(repost=10))
    assert post_heat(Counts(), source_weight=0.0) == 0.0
