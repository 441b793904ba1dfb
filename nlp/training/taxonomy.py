"""The category taxonomy lives in the core, ``yuqing.taxonomy`` (the router reads it too); training reads
it from there. This name stays for the modules that still import it here."""

from __future__ import annotations

from yuqing.taxonomy import CATEGORIES, Taxonomy, load_taxonomy

__all__ = ["CATEGORIES", "Taxonomy", "load_taxonomy"]
