"""Logging set-up and redaction: no secret reaches a log line, an error or a traceback.

Every secret the config holds is registered with ``register_secret`` when the config is
loaded; ``redact`` replaces those values, bearer tokens and Salesforce session ids in any
text, and a logging filter applies it to every record, so ``--verbose`` is safe to paste.

Log messages carry values from the CRM, so a text log line shows its message ``printable``
(``milestones.text``): a value can neither act on a terminal nor start a new log line. JSON
lines are ``json_text``: they parse and give back the value exactly.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from datetime import UTC, datetime

from milestones.text import json_text, printable, traceback_text

_secrets: set[str] = set()
_lock = threading.Lock()
_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(sessionid[\"']?\s*[:=]\s*[\"']?)[^\s\"',}<]+"),
    re.compile(r"(?i)(<sessionId>)[^<]+"),
    re.compile(
        r"(?i)((?:access_token|client_secret|password|security_token)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"'&,}]+"
    ),
    re.compile(r"\b(00D[A-Za-z0-9]{12,15}!)[A-Za-z0-9._]+"),  # Salesforce session id shape
]
MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret value so ``redact`` removes it wherever it appears."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with registered secrets, bearer tokens and session ids masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            error = record.exc_info[1]
            if error is not None:
                record.exc_text = redact(traceback_text(error))
            record.exc_info = None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json_text(payload)


class _TextFormatter(logging.Formatter):
    """``LEVEL logger: message``, the message on one printable line (a traceback below)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {printable(record.getMessage())}"
        if record.exc_text:
            line += "\n" + record.exc_text.rstrip("\n")
        return line


def configure_logging(*, verbose: bool = False, quiet: bool = False, fmt: str = "text") -> None:
    """Route the ``milestones`` loggers to stderr, redacted, as text or JSON lines."""
    logger = logging.getLogger("milestones")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    for noisy in ("urllib3", "simple_salesforce", "hubspot"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
        logging.getLogger(noisy).addFilter(_RedactingFilter())
