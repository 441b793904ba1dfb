"""The bundled sample site: a news RSS feed, a UTF-8 and a GBK government message board with paging,
a forum, a JSON API, robots.txt, a replay file, and misbehaving pages for the bad-input tests.

Content is fictional, written for this project, about real places. Counts live in memory and change on
demand: ``GET /_control/bump?id=b2012&count=reply&by=3`` (``/_control/reset`` restores the data files).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sample_site import policy_pages

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPLAY_FILE = DATA / "fengqiu_explosion_replay.jsonl"
ROBOTS = "User-agent: *\nDisallow: /private/\nDisallow: /_control/\n"
HUGE_BYTES = 3 * 1024 * 1024
TRUNCATED_FEED = (
    "<rss><channel><item><title>完整的条目</title><link>/bad/item/feed1.html</link>"
    "<description>供暖管道漏水</description></item><item><title>被截断的条"
)


def _paras(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


@dataclass
class SiteState:
    """The site's content and its mutable counts (per item id)."""

    news: dict[str, Any] = field(default_factory=lambda: _load("news.yaml"))
    board: dict[str, Any] = field(default_factory=lambda: _load("board.yaml"))
    gbk: dict[str, Any] = field(default_factory=lambda: _load("gbk_board.yaml"))
    forum: dict[str, Any] = field(default_factory=lambda: _load("forum.yaml"))
    api: dict[str, Any] = field(default_factory=lambda: _load("api.yaml"))
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    replies: dict[str, dict[str, str]] = field(default_factory=dict)  # official replies added by /_control
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        counts: dict[str, dict[str, int]] = {}
        for m in self.board["messages"]:
            counts[m["id"]] = {"reply": m["replies"], "like": m["support"], "views": m["views"]}
        for m in self.gbk["messages"]:
            counts[m["id"]] = {"comment": m["replies"]}
        for t in self.forum["threads"]:
            counts[t["id"]] = {"reply": len(t["replies"]), "views": t["views"]}
        for p in self.api["posts"]:
            counts[p["id"]] = {"repost": p["reposts"], "comment": p["comments"], "like": p["likes"]}
        with self.lock:
            self.counts = counts
            self.replies = {}

    def bump(self, item_id: str, count: str, by: int) -> int:
        with self.lock:
            if item_id not in self.counts:
                raise KeyError(item_id)
            self.counts[item_id][count] = self.counts[item_id].get(count, 0) + by
            return self.counts[item_id][count]

    def count(self, item_id: str, name: str) -> int:
        with self.lock:
            return self.counts[item_id].get(name, 0)


class SampleSite:
    """Renders every page; the HTTP handler only routes."""

    def __init__(self) -> None:
        self.state = SiteState()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
        )

    def page(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    @cached_property
    def routes(self) -> dict[str, Callable[[dict[str, list[str]]], tuple[int, str, bytes]]]:
        return {
            "/": lambda q: self.html(self.page("index.html", site="样例站点")),
            "/robots.txt": lambda q: (200, "text/plain; charset=utf-8", ROBOTS.encode()),
            "/news/rss.xml": self.rss,
            "/board/list": self.board_list,
            "/forum/board.html": lambda q: self.html(
                self.page(
                    "forum_board.html", site=self.state.forum["site"], threads=self.state.forum["threads"]
                )
            ),
            "/api/posts": self.api_posts,
            "/zwgk/zcwj/list.html": self.policy_list,
            "/_control/bump": self.bump,
            "/_control/reply": self.reply,
            "/_control/reset": self.reset,
            "/bad/list.html": lambda q: self.html(self.page("bad_list.html")),
            "/bad/404": lambda q: (404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode()),
            "/bad/500": lambda q: (500, "text/html; charset=utf-8", "<h1>500 服务器错误</h1>".encode()),
            "/bad/slow": self.slow,
            "/bad/flaky": self.flaky,
            "/bad/huge": self.huge,
            "/bad/lying-charset.html": self.lying_charset,
            "/bad/notjson": lambda q: self.html("<html><body>维护中</body></html>"),
            "/bad/feed.xml": lambda q: (200, "application/rss+xml; charset=utf-8", TRUNCATED_FEED.encode()),
            "/private/secret.html": lambda q: self.html("<html><body>不应被抓取</body></html>"),
        }

    def handle(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes] | tuple[int, str]:
        """(status, content type, body), or (302, location) for a redirect."""
        if path in self.routes:
            return self.routes[path](query)
        if path == "/bad/loop":
            return 302, "/bad/loop"
        for prefix, render in (
            ("/news/", self.news_article),
            ("/board/msg/", self.board_detail),
            ("/gbk/msg/", self.gbk_detail),
            ("/forum/thread/", self.forum_thread),
            ("/status/", self.status),
            ("/bad/item/", self.bad_item),
            ("/zwgk/zcwj/", self.policy_detail),
        ):
            if (path.startswith(prefix) and path.endswith(".html")) or (
                path.startswith(prefix) and prefix == "/status/"
            ):
                found = render(path[len(prefix) :].removesuffix(".html"))
                if found is not None:
                    return found
        if path.startswith("/gbk/list_") and path.endswith(".html"):
            page = path.removeprefix("/gbk/list_").removesuffix(".html")
            if page.isdigit():
                return self.gbk_list(int(page))
        replay = DATA / path.removeprefix("/replay/")
        if (
            path.startswith("/replay/")
            and path.endswith(".jsonl")
            and replay.parent == DATA
            and replay.is_file()
        ):
            return 200, "application/x-ndjson; charset=utf-8", replay.read_bytes()
        return 404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode()

    @staticmethod
    def html(text: str) -> tuple[int, str, bytes]:
        return 200, "text/html; charset=utf-8", text.encode("utf-8")

    # --- news ---------------------------------------------------------------------------------
    def rss(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        news = self.state.news
        base = query.get("base", [""])[0]  # the scheme and host the client asked for
        items = []
        for item in news["items"]:
            body = "".join(f"<p>{escape(p)}</p>" for p in _paras(item["body"]))
            items.append(
                f"<item><title>{escape(item['title'])}</title>"
                f'<link>{base}/news/{item["id"]}.html</link><guid isPermaLink="false">{item["id"]}</guid>'
                f"<dc:creator>{escape(item['author'])}</dc:creator><pubDate>{item['pub']}</pubDate>"
                f"<description><![CDATA[{body}]]></description></item>"
            )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>{escape(news['site'])}</title><link>{base}/</link><language>zh-cn</language>"
            f"<description>南阳本地新闻（样例，内容虚构）</description>{''.join(items)}</channel></rss>"
        )
        return 200, "application/rss+xml; charset=utf-8", xml.encode("utf-8")

    def news_article(self, item_id: str) -> tuple[int, str, bytes] | None:
        for item in self.state.news["items"]:
            if item["id"] == item_id:
                when = parsedate_to_datetime(item["pub"])
                view = {**item, "paras": _paras(item["body"]), "pub_cn": f"{when:%Y年%m月%d日 %H:%M}"}
                return self.html(self.page("news_article.html", site=self.state.news["site"], item=view))
        return None

    # --- 政策文件 (the policy register's sample source) ---------------------------------------------
    def policy_list(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        return self.html(self.page("policy_list.html", **policy_pages.list_context()))

    def policy_detail(self, policy_id: str) -> tuple[int, str, bytes] | None:
        context = policy_pages.detail_context(policy_id)
        return None if context is None else self.html(self.page("policy_detail.html", **context))

    # --- boards -------------------------------------------------------------------------------
    def _with_counts(self, m: dict[str, Any]) -> dict[str, Any]:
        counts = self.state.counts[m["id"]]
        with self.state.lock:
            reply = self.state.replies.get(m["id"], {})
        return {
            **m,
            **reply,
            "paras": _paras(m["body"]),
            "replies": counts.get("reply", counts.get("comment", 0)),
            "support": counts.get("like", 0),
            "views": counts.get("views", 0),
        }

    def board_list(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        board = self.state.board
        page_text = query.get("page", ["1"])[0]
        page = int(page_text) if page_text.isdigit() else 1
        per_page = board["per_page"]
        pages = -(-len(board["messages"]) // per_page)
        if not 1 <= page <= pages:
            return 404, "text/html; charset=utf-8", b"no such page"
        chunk = board["messages"][(page - 1) * per_page : page * per_page]
        return self.html(
            self.page("board_list.html", site=board["site"], messages=chunk, page=page, pages=pages)
        )

    def board_detail(self, item_id: str) -> tuple[int, str, bytes] | None:
        for m in self.state.board["messages"]:
            if m["id"] == item_id:
                return self.html(
                    self.page("board_detail.html", site=self.state.board["site"], m=self._with_counts(m))
                )
        return None

    def _gbk(self, text: str) -> tuple[int, str, bytes]:
        return 200, "text/html; charset=GBK", text.encode("gbk", errors="xmlcharrefreplace")

    def gbk_list(self, page: int) -> tuple[int, str, bytes]:
        board = self.state.gbk
        per_page = board["per_page"]
        pages = -(-len(board["messages"]) // per_page)
        if not 1 <= page <= pages:
            return 404, "text/html; charset=utf-8", b"no such page"
        chunk = board["messages"][(page - 1) * per_page : page * per_page]
        return self._gbk(
            self.page(
                "gbk_list.html", site=board["site"], charset="gbk", messages=chunk, page=page, pages=pages
            )
        )

    def gbk_detail(self, item_id: str) -> tuple[int, str, bytes] | None:
        for m in self.state.gbk["messages"]:
            if m["id"] == item_id:
                return self._gbk(
                    self.page(
                        "gbk_detail.html", site=self.state.gbk["site"], charset="gbk", m=self._with_counts(m)
                    )
                )
        return None

    # --- forum and API ------------------------------------------------------------------------
    def forum_thread(self, item_id: str) -> tuple[int, str, bytes] | None:
        for t in self.state.forum["threads"]:
            if t["id"] == item_id:
                extra = self.state.count(t["id"], "reply") - len(t["replies"])
                replies = t["replies"] + [
                    {"author": f"网友{n + 1:03d}", "time": "刚刚", "text": "顶，同样关注这件事。"}
                    for n in range(extra)
                ]
                view = {
                    **t,
                    "paras": _paras(t["body"]),
                    "replies": replies,
                    "views": self.state.count(t["id"], "views"),
                }
                return self.html(self.page("forum_thread.html", site=self.state.forum["site"], t=view))
        return None

    def api_posts(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        api = self.state.api
        try:
            page = int(query.get("page", ["1"])[0])
            size = min(int(query.get("size", [str(api["per_page"])])[0]), 50)
        except ValueError:
            body = {"code": 400, "msg": "page and size must be numbers"}
            return 400, "application/json; charset=utf-8", json.dumps(body).encode()
        posts = api["posts"][(page - 1) * size : page * size] if page >= 1 and size >= 1 else []
        listed = [
            {
                "id": p["id"],
                "text": p["text"],
                "created_at": p["created_at"],
                "user": {"screen_name": p["user"]},
                "reposts_count": self.state.count(p["id"], "repost"),
                "comments_count": self.state.count(p["id"], "comment"),
                "attitudes_count": self.state.count(p["id"], "like"),
            }
            for p in posts
        ]
        body = {
            "code": 0,
            "msg": "ok",
            "data": {"page": page, "has_more": page * size < len(api["posts"]), "list": listed},
        }
        return 200, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode()

    def status(self, item_id: str) -> tuple[int, str, bytes] | None:
        for p in self.state.api["posts"]:
            if p["id"] == item_id:
                return self.html(f"<html><body><p class='text'>{escape(p['text'])}</p></body></html>")
        return None

    # --- control and misbehaving pages ---------------------------------------------------------
    def bump(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        item_id = query.get("id", [""])[0]
        count = query.get("count", ["reply"])[0]
        try:
            value = self.state.bump(item_id, count, int(query.get("by", ["1"])[0]))
        except (KeyError, ValueError):
            return 404, "application/json", json.dumps({"error": f"no item {item_id!r}"}).encode()
        return 200, "application/json", json.dumps({"id": item_id, count: value}).encode()

    def reply(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """A board answers a message: ``/_control/reply?id=b2012&text=…&from=…&time=…`` shows the official
        reply block (已回复) on its page from now on (``/_control/reset`` removes it)."""
        item_id = query.get("id", [""])[0]
        text = query.get("text", [""])[0].strip()
        known = {m["id"] for m in (*self.state.board["messages"], *self.state.gbk["messages"])}
        if item_id not in known or not text:
            body = {"error": f"no message {item_id!r}" if item_id not in known else "text is required"}
            return 404, "application/json", json.dumps(body).encode()
        reply = {"status": "已回复", "reply": text, "reply_from": query.get("from", [""])[0],
                 "reply_time": query.get("time", [""])[0]}
        with self.state.lock:
            self.state.replies[item_id] = reply
        return 200, "application/json", json.dumps({"id": item_id, **reply}, ensure_ascii=False).encode()

    def reset(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        self.state.reset()
        return 200, "application/json", b'{"reset": true}'

    def slow(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        time.sleep(min(float(query.get("s", ["3"])[0]), 30))
        return self.html("<html><body>终于加载完了</body></html>")

    def flaky(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """503 for the first ``fail`` requests of a ``key``, then a list page: retries get through."""
        key = query.get("key", [""])[0]
        with self.state.lock:
            self.state.attempts[key] = self.state.attempts.get(key, 0) + 1
            attempt = self.state.attempts[key]
        if attempt <= int(query.get("fail", ["1"])[0]):
            return 503, "text/html; charset=utf-8", "<h1>503 服务暂不可用</h1>".encode()
        return self.html(
            '<ul><li class="it"><a href="/bad/item/flaky.html">重试后才拿到的条目</a>'
            '<p class="c">第二次请求成功。</p></li></ul>'
        )

    def huge(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        return self.html("<html><body>" + "很长的页面。" * (HUGE_BYTES // 18) + "</body></html>")

    def lying_charset(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        page = (
            '<html><head><meta charset="utf-8"><title>编码声明错误的页面</title></head><body>'
            '<ul><li class="it"><a href="/bad/item/gbk1.html">县城自来水有异味</a>'
            '<p class="c">这一页声明为UTF-8，实际用GBK编码。</p></li></ul></body></html>'
        )
        return 200, "text/html; charset=utf-8", page.encode("gbk")

    def bad_item(self, item_id: str) -> tuple[int, str, bytes] | None:
        return self.html(f"<html><body><h1>条目 {escape(item_id)}</h1></body></html>")


class _Handler(BaseHTTPRequestHandler):
    server_version = "SampleSite/1.0"
    site: SampleSite

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        query["base"] = [f"http://{self.headers.get('Host') or '127.0.0.1'}"]
        result = self.site.handle(parts.path, query)
        if len(result) == 2:
            self.send_response(result[0])
            self.send_header("Location", result[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, content_type, body = result
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the crawler logs what matters."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a crawler's timeout or size limit) is not the site's problem."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, SampleSite]:
    site = SampleSite()
    handler = type("SampleSiteHandler", (_Handler,), {"site": site})
    return _Server((host, port), handler), site


def serve_sample_site(port: int = 0, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Start the site in a background thread: (base URL, stop function)."""
    server, _site = make_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="sample-site", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return f"http://{host}:{server.server_address[1]}", stop
