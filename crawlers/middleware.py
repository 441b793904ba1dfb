"""Downloader middlewares: retries with exponential backoff, and robots.txt for concurrent requests."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class BackoffRetryMiddleware(RetryMiddleware):
    """Wait ``RETRY_BACKOFF_BASE * 2**(n-1)`` seconds (at most ``RETRY_BACKOFF_MAX``) before retry n."""

    async def _backoff(self, result: Request | Response | None) -> Request | Response | None:
        if isinstance(result, Request):
            settings = self.crawler.settings
            attempt = int(result.meta.get("retry_times", 1))
            delay = min(
                settings.getfloat("RETRY_BACKOFF_BASE") * 2 ** (attempt - 1),
                settings.getfloat("RETRY_BACKOFF_MAX"),
            )
            if delay > 0:
                await asyncio.sleep(delay)
        return result

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        return await self._backoff(result) or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        return await self._backoff(super().process_exception(request, exception))


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with one fix: requests that wait for a robots.txt still being
    downloaded each get their own Deferred. Scrapy 2.19 lets them all await one Deferred, and the first
    waiter consumes its result, so every later concurrent request saw "no robots.txt" and was allowed."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred[RobotParser | None] = Deferred()

            def forward(result: Any) -> Any:
                waiter.callback(result)
                return result

            pending.addBoth(forward)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)
