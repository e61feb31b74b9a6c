"""Sessions and the login endpoints of the Salesforce sandbox.

Every API call carries `Authorization: Bearer <session id>` (simple-salesforce sends it
so); unknown or expired sessions get 401 with the JSON-array body
`[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`,
the only shape simple-salesforce's re-login path can read (reference section 6.4).

Logins hand out fresh sessions, so a client can be tested re-logging in after
`expire_sessions()`:

* `POST /services/oauth2/token` with `grant_type` `password`, `client_credentials`
  (client id and secret in HTTP Basic auth or the form) or
  `urn:ietf:params:oauth:grant-type:jwt-bearer` (the assertion's `iss` must be the client
  id and `sub` the username; its signature is not checked);
* `POST /services/Soap/u/{version}`, the SOAP partner login simple-salesforce uses for
  username + password + security token.

simple-salesforce hard-codes `https://{domain}.salesforce.com` for logins, so a client
reaches these only through a session that routes that host here; the connector's
`session` auth mode needs none of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from milestones.sandbox.server.http import Request, Response, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@dataclass(frozen=True)
class Credentials:
    """What the sandbox org accepts at login (sandbox-only values, safe to print)."""

    username: str = "integration@sandbox.example"
    password: str = "sandbox-password"
    security_token: str = "sandbox-security-token"
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"


class Sessions:
    """Valid session ids; thread-safe."""

    def __init__(self, initial: str) -> None:
        self._valid = {initial}
        self._lock = threading.Lock()

    def is_valid(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._valid

    def issue(self, org_id: str) -> str:
        session_id = f"{org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._valid.add(session_id)
        return session_id

    def expire_all(self) -> None:
        with self._lock:
            self._valid.clear()


def bearer(req: Request) -> str | None:
    header = req.headers.get("Authorization", "") or ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") and value else None


def unauthorized() -> Response:
    return json_response(401, INVALID_SESSION)


class LoginService:
    """Answers the OAuth token and SOAP login requests."""

    def __init__(self, sessions: Sessions, credentials: Credentials, org_id: str, user_id: str):
        self.sessions, self.credentials = sessions, credentials
        self.org_id, self.user_id = org_id, user_id

    def oauth_token(self, req: Request, instance_url: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        client_id, client_secret = _basic_auth(req) or (
            form.get("client_id"),
            form.get("client_secret"),
        )
        grant = form.get("grant_type")
        creds = self.credentials
        if grant == "password":
            ok = form.get("username") == creds.username and form.get("password") in (
                creds.password,
                creds.password + creds.security_token,
            )
            ok = ok and self._client_ok(client_id, client_secret)
        elif grant == "client_credentials":
            ok = self._client_ok(client_id, client_secret)
        elif grant == JWT_GRANT:
            claims = _jwt_claims(form.get("assertion", ""))
            ok = claims.get("iss") == creds.client_id and claims.get("sub") == creds.username
        else:
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if not ok:
            return json_response(
                400, {"error": "invalid_grant", "error_description": "authentication failure"}
            )
        return json_response(
            200,
            {
                "access_token": self.sessions.issue(self.org_id),
                "instance_url": instance_url,
                "id": f"{instance_url}/id/{self.org_id}/{self.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": secrets.token_urlsafe(32),
            },
        )

    def _client_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        creds = self.credentials
        return client_id == creds.client_id and client_secret == creds.client_secret

    def soap_login(self, req: Request, instance_url: str, version: str) -> Response:
        body = req.body.decode("utf-8", "replace")
        username, password = _xml_text(body, "username"), _xml_text(body, "password")
        creds = self.credentials
        if username != creds.username or password not in (
            creds.password,
            creds.password + creds.security_token,
        ):
            return _soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        session_id = self.sessions.issue(self.org_id)
        server_url = f"{instance_url}/services/Soap/u/{version}/{self.org_id}"
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{instance_url}/services/Soap/m/{version}/{self.org_id}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{escape(server_url)}</serverUrl><sessionId>{escape(session_id)}</sessionId>"
            f"<userId>{self.user_id}</userId></result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(200, xml.encode(), [("Content-Type", "text/xml; charset=utf-8")])

    def userinfo(self, instance_url: str) -> Response:
        return json_response(
            200,
            {
                "user_id": self.user_id,
                "organization_id": self.org_id,
                "preferred_username": self.credentials.username,
                "email": self.credentials.username,
                "urls": {"rest": f"{instance_url}/services/data/v{{version}}/"},
            },
        )


def _basic_auth(req: Request) -> tuple[str, str] | None:
    header = req.headers.get("Authorization", "") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, secret


def _jwt_claims(assertion: str) -> dict[str, Any]:
    parts = assertion.split(".")
    if len(parts) != 3:
        return {}
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _xml_text(xml: str, tag: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", xml, re.S)
    if match is None:
        return None
    text = match.group(1)
    for entity, char in (
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&apos;", "'"),
        ("&amp;", "&"),
    ):
        text = text.replace(entity, char)
    return text


def _soap_fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(500, xml.encode(), [("Content-Type", "text/xml; charset=utf-8")])
