"""A post's near-duplicate signature (``nlp.dedup``), computed once, in the nlp stage.

The incidents stage runs as one process (its clustering is one memory), while nlp scales out over the
partitions; so the per-post work of near-duplicate search is done in nlp: ``sign`` sets
``EnrichedPost.near_dup`` (the signature's stored form, ``Signature.hashvalues_bytes`` as base64 and
``stored_numbers``) on the posts the incidents stage files: relevant ones and declared 留言.

``of_post`` gives the incidents stage a post's signature: the carried one when it is readable and of the
current hashing scheme, else computed from the post (a post from an older nlp, or built without it), so
the result is the same either way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from nlp.dedup import Signature, signature
from nlp.filing import is_filed
from nlp.tokenize import clean_text
from yuqing.schemas import EnrichedPost, NearDup


def computed(post: EnrichedPost) -> Signature:
    """The signature of the post's clean text, with its places (location codes)."""
    return signature(clean_text(post.text)[0], [loc.code for loc in post.tags.locations])


def carried(sig: Signature) -> NearDup:
    stored = base64.b64encode(sig.hashvalues_bytes()).decode("ascii")
    return NearDup(minhash=stored, numbers=sig.stored_numbers())


def of_post(post: EnrichedPost) -> Signature:
    """The post's signature: as nlp carried it, else computed here."""
    near = post.near_dup
    if near is not None:
        try:
            stored = base64.b64decode(near.minhash, validate=True)
        except (binascii.Error, ValueError):
            stored = b""
        sig = Signature.from_parts(stored, near.numbers, [loc.code for loc in post.tags.locations])
        if not sig.stale:
            return sig
    return computed(post)


def sign(posts: Iterable[EnrichedPost]) -> None:
    """Carry the signature on each post the incidents stage files (relevant, or a declared 留言)."""
    for post in posts:
        if is_filed(post):
            post.near_dup = carried(computed(post))
