"""The leader page names every region, also those the department directory does not list."""

from __future__ import annotations

from nlp.location import place_name


def test_regions_outside_the_directory_get_their_gazetteer_name() -> None:
    assert place_name("340506") == "马鞍山市博望区"
    assert place_name("4113") == "河南省南阳市"
    assert place_name("41") == "河南省"
    assert place_name("990000") == "990000"  # unknown: the code, never an invented name
