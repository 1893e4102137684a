"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it receives.

    sink = SmtpSink()
    sink.start()           # listens on a free port: sink.host, sink.port
    ...                    # send mail to it
    sink.wait_for(1)
    sink.stop()            # SMTP is now down: connection refused
    sink.start()           # ...and up again on the same port

The ``smtp_sink`` pytest fixture (conftest.py) points Django's EMAIL_* settings at one.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedEmail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    subject: str
    text: str
    html: str
    message: EmailMessage = field(repr=False)
    raw: bytes = field(repr=False)

    def header(self, name: str) -> str:
        value = self.message[name]
        return "" if value is None else str(value).strip()


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.sink.reject_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._received(
            ReceivedEmail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                subject=str(message["subject"] or ""),
                text=_part(message, "plain"),
                html=_part(message, "html"),
                message=message,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    """A local SMTP server that keeps every message it accepts."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        # Addresses (lower case) refused at RCPT with a permanent 550.
        self.reject_recipients: set[str] = set()
        self._messages: list[ReceivedEmail] = []
        self._condition = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on ``self.port``; a free port is chosen the first time."""
        if self._controller is not None:
            return
        if not self.port:
            self.port = _free_port(self.host)
        # aiosmtpd logs every envelope address at INFO; keep test output free of them.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _received(self, email: ReceivedEmail) -> None:
        with self._condition:
            self._messages.append(email)
            self._condition.notify_all()

    @property
    def messages(self) -> list[ReceivedEmail]:
        with self._condition:
            return list(self._messages)

    def clear(self) -> None:
        with self._condition:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 5) -> list[ReceivedEmail]:
        """Wait until at least ``count`` messages arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"SMTP sink received {len(self._messages)} of {count} messages"
                    )
                self._condition.wait(remaining)
            return list(self._messages)

    def find(
        self, *, to: str | None = None, subject_contains: str | None = None
    ) -> list[ReceivedEmail]:
        """Messages sent to ``to`` (envelope recipient) and/or whose subject contains text."""
        return [
            email
            for email in self.messages
            if (to is None or to.lower() in (rcpt.lower() for rcpt in email.rcpt_tos))
            and (subject_contains is None or subject_contains in email.subject)
        ]
