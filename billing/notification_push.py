"""Pushing driver notifications to the account's callback URL: registering the URL (public
addresses only, unless configured otherwise), signing each push `t=<unix>,v1=<hex
HMAC-SHA256 of "<t>.<body>">` with the account's secret, and delivering it in the
provider-style two steps (`push_for`, `send_push`, `record_push`), so no write lock is held
while the app's server answers. A failure is retried with exponential backoff up to a
maximum number of attempts; a delivered notification is never sent again. Writing the
notifications is billing/notifications.py.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.notification_models import (
    Notification,
    NotificationCallback,
)
from billing.notifications import iso_z
from parking.errors import InvalidInputError

# A sender POSTs a body with headers to a URL and answers the HTTP status; OSError if unreachable.
Sender = Callable[[str, bytes, Mapping[str, str]], int]
SIGNATURE_HEADER = "X-Parking-Signature"


class CallbackUrlError(InvalidInputError):
    code = "invalid_callback_url"


def register_callback(db: Session, account_id: int, url: str, now: datetime, allow_private: bool) -> str:
    """Push the account's notifications to `url` (http or https) from now on; returns a new
    signing secret, which replaces any earlier one."""
    check_callback_url(url, allow_private)
    secret = "nsec_" + secrets.token_urlsafe(32)
    callback = db.get(NotificationCallback, account_id)
    if callback is None:
        db.add(NotificationCallback(account_id=account_id, url=url, secret=secret, created_at=now))
    else:
        callback.url, callback.secret = url, secret
    db.flush()
    return secret


def check_callback_url(url: str, allow_private: bool) -> None:
    """An absolute http(s) URL; unless `allow_private`, not to a private, loopback or
    link-local address, so a driver cannot point our server at the internal network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackUrlError("the callback is an absolute http or https URL", ["url"])
    if parts.username or parts.password:
        raise CallbackUrlError("the callback URL may not carry credentials", ["url"])
    host = parts.hostname
    if allow_private:
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise CallbackUrlError("the callback must be a public address", ["url"])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checked again when it is resolved, at each delivery
    if not address.is_global:
        raise CallbackUrlError("the callback must be a public address", ["url"])


# --- delivery --------------------------------------------------------------------------------


def due_deliveries(db: Session, now: datetime, limit: int) -> list[int]:
    """Ids of notifications to push now: unsettled, of accounts with a callback, written
    since it was registered, and past their backoff."""
    return list(
        db.scalars(
            select(Notification.id)
            .join(NotificationCallback, NotificationCallback.account_id == Notification.account_id)
            .where(
                Notification.delivered_at.is_(None),
                Notification.failed_at.is_(None),
                Notification.created_at >= NotificationCallback.created_at,
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def payload(notification: Notification) -> bytes:
    """The JSON body pushed (and answered to polls): its `id` lets the app drop a repeat."""
    body = {
        "id": notification.id,
        "kind": notification.kind,
        "created_at": iso_z(notification.created_at),
        "message": notification.message,
        "data": notification.data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, now: datetime, tolerance: timedelta) -> bool:
    """What a receiver does: recompute the HMAC over "<t>.<body>", compare in constant time,
    and refuse a timestamp further than `tolerance` from its clock (a replay)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass(frozen=True)
class Push:
    """One signed POST of one notification to its account's callback."""

    notification_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def push_for(db: Session, notification_id: int, now: datetime) -> Push | None:
    """The signed POST for a notification, or None once it is settled (never sent again)."""
    notification = db.get_one(Notification, notification_id)
    callback = db.get(NotificationCallback, notification.account_id)
    if notification.delivered_at is not None or notification.failed_at is not None or callback is None:
        return None
    body = payload(notification)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(callback.secret, body, int(now.timestamp())),
    }
    return Push(notification_id, callback.url, body, headers)


def send_push(push: Push, send: Sender) -> str | None:
    """Send it; None when the callback answered 2xx, else what went wrong. Writes nothing."""
    try:
        status = send(push.url, push.body, push.headers)
    except OSError as failure:
        return f"unreachable: {failure}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def record_push(
    db: Session, notification_id: int, error: str | None, now: datetime, max_attempts: int, backoff: timedelta
) -> str:
    """Record one attempt: delivered, or retried after `backoff` × 2^(attempts-1), or failed
    after `max_attempts`. Returns `delivered`, `retry`, `failed` or `skipped`."""
    notification = db.get_one(Notification, notification_id)
    if notification.delivered_at is not None or notification.failed_at is not None:
        return "skipped"
    notification.attempts += 1
    notification.last_error = error[:300] if error else None
    notification.next_attempt_at = None
    if error is None:
        notification.delivered_at, outcome = now, "delivered"
    elif notification.attempts >= max_attempts:
        notification.failed_at, outcome = now, "failed"
    else:
        notification.next_attempt_at = now + backoff * 2 ** (notification.attempts - 1)
        outcome = "retry"
    db.flush()
    return outcome


def http_sender(timeout: timedelta, allow_private: bool) -> Sender:
    """POST over HTTP(S) with the standard library. The host is resolved once, the address
    is checked (unless `allow_private`), and the connection goes to that very address, with
    the name kept for the Host header and TLS (SNI and the certificate check): a name that
    answers a public address to the check and a private one to the connection (DNS
    rebinding) reaches nothing inside. Redirects are not followed."""
    seconds = timeout.total_seconds()

    def send(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _require_public(host, port, allow_private)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = _PinnedHTTPS(host, port, address, seconds)
        else:
            connection = _PinnedHTTP(host, port, address, seconds)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=body, headers=dict(headers))
            return int(connection.getresponse().status)
        except http.client.HTTPException as error:  # a garbled answer: unreachable, as a refusal
            raise OSError(f"no HTTP answer: {error!r}") from error
        finally:
            connection.close()

    return send


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to `address`, speaking to `host` (its Host header)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """A TLS connection to `address`, verifying the certificate of `host` (SNI too)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def _require_public(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to: the host's first address, every one of them public unless
    `allow_private` (else OSError)."""
    addresses: Sequence[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not addresses:
        raise OSError(f"{host} has no address")
    for *_, sockaddr in addresses:
        if not allow_private and not ipaddress.ip_address(sockaddr[0]).is_global:
            raise OSError(f"{host} resolves to a non-public address")
    return str(addresses[0][4][0])
