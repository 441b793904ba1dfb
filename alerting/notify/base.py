"""What every channel speaks: the message going out and the result of one attempt to send it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx

Outcome = Literal["sent", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message; only e-mail carries it (robots get the link)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    subject: str
    body: str  # plain text with light Markdown (robots render it; e-mail shows it as is)
    link: str  # deep link into the console
    recipient: str  # role:name, or the channel name for group robots
    address: str | None = None  # e-mail address when the channel needs one
    alert_ids: tuple[int, ...] = ()
    level: str | None = None
    digest_size: int = 1
    extra: dict[str, object] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()  # e-mail only (e.g. the 日报 PDF)

    def text(self) -> str:
        return f"{self.subject}\n\n{self.body}\n\n{self.link}"

    def markdown(self) -> str:
        return f"### {self.subject}\n\n{self.body}\n\n[在控制台查看]({self.link})"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    detail: str = ""

    @classmethod
    def sent(cls, detail: str = "ok") -> SendResult:
        return cls("sent", detail)

    @classmethod
    def retry(cls, detail: str) -> SendResult:
        return cls("retry", detail)

    @classmethod
    def failed(cls, detail: str) -> SendResult:
        return cls("failed", detail)


class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> SendResult: ...


def post_json(
    url: str,
    body: dict[str, object],
    *,
    timeout: float,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[SendResult | None, object]:
    """POST JSON; a transport error, 429 or 5xx is worth a retry, another 4xx is not.

    Returns (result, parsed body): result is None when the HTTP exchange succeeded (2xx) and the caller
    decides from the vendor's body."""
    target = httpx.URL(url).copy_merge_params(params) if params else url  # keep ?access_token=… in the URL
    try:
        response = httpx.post(target, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return SendResult.retry(f"{exc.__class__.__name__}: {exc}"), None
    if response.status_code == 429 or response.status_code >= 500:
        return SendResult.retry(f"HTTP {response.status_code}"), None
    if response.status_code >= 400:
        return SendResult.failed(f"HTTP {response.status_code}: {response.text[:200]}"), None
    try:
        return None, response.json()
    except ValueError:
        return None, response.text


def robot_result(
    body: object, *, code_keys: tuple[str, ...], message_key: str, rate_limited: set[int]
) -> SendResult:
    """A chat robot's verdict from its JSON body: code 0 is sent, a rate-limit code is worth a retry,
    any other code (or a body that is not JSON) failed. ``code_keys`` are tried in order."""
    fields = body if isinstance(body, dict) else {}
    code = next((fields[k] for k in code_keys if k in fields), None)
    label = code_keys[0]
    if code == 0:
        return SendResult.sent(f"{label} 0")
    detail = f"{label} {code}: {fields.get(message_key) if isinstance(body, dict) else body}"
    return SendResult.retry(detail) if code in rate_limited else SendResult.failed(detail)
