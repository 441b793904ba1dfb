"""The bundled sample site the demo and the tests crawl (see server.py)."""

from sample_site.server import serve_sample_site

__all__ = ["serve_sample_site"]
