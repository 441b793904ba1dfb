"""The access token an enterprise app (WeCom 应用, DingTalk 企业内部应用) sends with every call.

Fetched with the app's credentials, reused until shortly before the vendor's ``expires_in``, and fetched
anew when the vendor answers that the token is invalid or expired. A failure to get one is a
``SendResult`` (retry on a transport error or 5xx, failed on wrong credentials) so the outbox logs it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from alerting.notify.base import SendResult, post_json

REFRESH_MARGIN_S = 300.0  # fetch a new token this long before the old one expires


class AccessToken:
    def __init__(
        self,
        url: str,
        params: dict[str, str],
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.params, self.timeout, self.clock = url, params, timeout, clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> tuple[str | None, SendResult | None]:
        """(token, None), or (None, why it could not be had)."""
        with self._lock:
            if self._token is not None and self.clock() < self._expires_at:
                return self._token, None
            try:
                response = httpx.get(self.url, params=self.params, timeout=self.timeout)
            except httpx.HTTPError as exc:
                return None, SendResult.retry(f"gettoken: {exc.__class__.__name__}: {exc}")
            if response.status_code == 429 or response.status_code >= 500:
                return None, SendResult.retry(f"gettoken: HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or body.get("errcode", 0) != 0 or not body.get("access_token"):
                detail = body.get("errmsg") if isinstance(body, dict) else response.text[:200]
                code = body.get("errcode") if isinstance(body, dict) else response.status_code
                return None, SendResult.failed(f"gettoken: errcode {code}: {detail}")
            self._token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 7200)
            self._expires_at = self.clock() + max(0.0, expires_in - REFRESH_MARGIN_S)
            return self._token, None

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


def post_with_token(
    token: AccessToken,
    url: str,
    payload: dict[str, object],
    *,
    timeout: float,
    token_invalid: set[int],
) -> tuple[SendResult | None, dict[str, Any]]:
    """POST ``payload`` with ``?access_token=``; a token the vendor calls invalid or expired is fetched anew
    and the call made once more. Returns (a result when the exchange failed, the vendor's JSON fields)."""
    for attempt in (1, 2):
        value, problem = token.get()
        if problem is not None:
            return problem, {}
        result, body = post_json(url, payload, params={"access_token": value or ""}, timeout=timeout)
        if result is not None:
            return result, {}
        fields = body if isinstance(body, dict) else {}
        if fields.get("errcode") in token_invalid and attempt == 1:
            token.invalidate()
            continue
        return None, fields
    return SendResult.retry("access_token refused twice"), {}
