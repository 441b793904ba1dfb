"""Text cleaning and word segmentation for the nlp stage: the project's one segmenter lives in the core,
``yuqing.text`` (the search stores segment queries with it too); this module names it for nlp's modules."""

from __future__ import annotations

from yuqing.text import (
    DEFAULT_CAP,
    USER_DICT,
    USER_DICT_ENV,
    Segmenter,
    SegmenterUnavailable,
    clean_text,
    load_user_dict,
    segment,
    segment_many,
    user_dict_path,
)

__all__ = [
    "DEFAULT_CAP",
    "USER_DICT",
    "USER_DICT_ENV",
    "Segmenter",
    "SegmenterUnavailable",
    "clean_text",
    "load_user_dict",
    "segment",
    "segment_many",
    "user_dict_path",
]
