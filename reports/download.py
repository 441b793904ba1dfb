"""A report as an HTTP download: the media type and a Content-Disposition with the Chinese file name
(RFC 6266 / RFC 5987 ``filename*``, with an ASCII fallback)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from reports.render import MEDIA_TYPES


def download(data: bytes, filename: str, fmt: str) -> Response:
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    if fmt == "html":
        disposition = disposition.replace("attachment", "inline", 1)
    return Response(content=data, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def store_or_none(state: object) -> object | None:
    """The app's search store, or None when it cannot be opened (the report then says the posts are
    missing instead of failing)."""
    from yuqing.storage import StoreError

    try:
        return state.store  # type: ignore[attr-defined]
    except StoreError:
        return None
