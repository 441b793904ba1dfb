"""E-mail through an SMTP server (smtplib): options host, port, sender, starttls, username, password.
A message's attachments (``OutgoingMessage.attachments``) go along as MIME parts."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from alerting.notify.base import OutgoingMessage, SendResult


class EmailChannel:
    def __init__(
        self,
        *,
        host: str,
        sender: str,
        port: int = 25,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, int(port), sender
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def build(self, message: OutgoingMessage) -> EmailMessage:
        if not message.address:
            raise ValueError("an e-mail needs an address")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail.set_content(message.text())
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mime_type.partition("/")
            mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=attachment.filename)
        return mail

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            mail = self.build(message)
        except ValueError as exc:
            return SendResult.failed(str(exc))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            return SendResult.failed(f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            result = SendResult.failed if 500 <= exc.smtp_code < 600 else SendResult.retry
            return result(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult.retry(f"{exc.__class__.__name__}: {exc}")
        return SendResult.sent(f"accepted by {self.host}:{self.port}")
