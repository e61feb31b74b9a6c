"""Sessions and the login endpoints of the Salesforce sandbox.

Every API call carries `Authorization: Bearer <session id>` (simple-salesforce sends it
so); unknown or expired sessions get 401 with the JSON-array body
`[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`,
the only shape simple-salesforce's re-login path can read (reference section 6.4).

Logins hand out fresh sessions, so a client can be tested re-logging in after
`expire_sessions()`:

* `POST /services/oauth2/token` with `grant_type` `client_credentials` (the External Client
  App's key and secret in HTTP Basic auth or the form), `urn:ietf:params:oauth:grant-type:
  jwt-bearer` (the assertion's signature checked against the app's certificate, see
  `salesforce.oauth`) or `password`;
* `POST /services/Soap/u/{version}`, the SOAP partner login() simple-salesforce uses for
  username + password + security token. As on a real org (reference
  crm-api-changes-2026.md section 5.1) it answers SOAP faults: `INVALID_OPERATION` at API
  65.0 and later, and when the org has login() switched off (`soap_login=False`, the
  default of orgs created since Winter '26); `INSUFFICIENT_ACCESS` when the user lacks
  "Use Any API Auth" (`use_any_api_auth=False`); `UNSUPPORTED_API_VERSION` below 31.0.

simple-salesforce hard-codes `https://{domain}.salesforce.com` for logins, so a client
reaches these only through a session that routes that host here; the connector's
`session` auth mode needs none of it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from milestones.sandbox.salesforce.oauth import LOGIN_AUDIENCES, AssertionRefused, check_assertion
from milestones.sandbox.server.http import Request, Response, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
LAST_SOAP_LOGIN = 64.0  # login() is not offered from API 65.0 on
OLDEST_VERSION = 31.0  # 21.0-30.0 are retired
# Salesforce's own words, as quoted from real failures (reference 5.1, P5-P7).
SOAP_LOGIN_DISABLED = (
    "SOAP API login() is disabled by default in this org. Contact the org administrator "
    "to enable SOAP API login()."
)
SOAP_LOGIN_VERSION = (
    "The SOAP Login operation is not available in the API version specified ({version}). "
    "Refer to the documentation for supported versions."
)
# The code is documented (reference 5.1, S1); the message is not, so this one is ours.
NO_USE_ANY_API_AUTH = "The user does not have the Use Any API Auth permission."


@dataclass(frozen=True)
class Credentials:
    """What the sandbox org accepts at login (sandbox-only values, safe to print)."""

    username: str = "integration@sandbox.example"
    password: str = "sandbox-password"
    security_token: str = "sandbox-security-token"
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    jwt_certificate: bytes | None = None  # PEM X.509 the JWT bearer flow verifies with


class Sessions:
    """Valid session ids, and which of them an OAuth flow issued; thread-safe.

    The REST API takes every valid session; the OAuth endpoints (userinfo) take only tokens
    an OAuth flow issued. The initial session stands for a token handed to the client, so
    it counts as OAuth.
    """

    def __init__(self, initial: str) -> None:
        self._valid = {initial}
        self._oauth = {initial}
        self._lock = threading.Lock()

    def is_valid(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._valid

    def is_oauth(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._valid and session_id in self._oauth

    def issue(self, org_id: str, *, oauth: bool = True) -> str:
        session_id = f"{org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._valid.add(session_id)
            if oauth:
                self._oauth.add(session_id)
        return session_id

    def expire_all(self) -> None:
        with self._lock:
            self._valid.clear()
            self._oauth.clear()


def bearer(req: Request) -> str | None:
    header = req.headers.get("Authorization", "") or ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") and value else None


def unauthorized() -> Response:
    return json_response(401, INVALID_SESSION)


class LoginService:
    """Answers the OAuth token and SOAP login requests."""

    def __init__(
        self,
        sessions: Sessions,
        credentials: Credentials,
        org_id: str,
        user_id: str,
        *,
        soap_login: bool = True,
        use_any_api_auth: bool = True,
    ) -> None:
        self.sessions, self.credentials = sessions, credentials
        self.org_id, self.user_id = org_id, user_id
        self.soap_login_enabled, self.use_any_api_auth = soap_login, use_any_api_auth

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
            try:
                check_assertion(
                    form.get("assertion", ""),
                    creds.jwt_certificate,
                    client_id=creds.client_id,
                    username=creds.username,
                    audiences=(*LOGIN_AUDIENCES, instance_url),
                )
            except AssertionRefused as refused:
                return json_response(
                    400, {"error": refused.error, "error_description": refused.description}
                )
            ok = True
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
        refused = self._soap_refusal(version)
        if refused is not None:
            return refused
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
        if not self.use_any_api_auth:
            return _soap_fault("INSUFFICIENT_ACCESS", NO_USE_ANY_API_AUTH)
        session_id = self.sessions.issue(self.org_id, oauth=False)  # a SOAP session id
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

    def _soap_refusal(self, version: str) -> Response | None:
        """The fault a login at `version` gets before any credential is looked at."""
        try:
            number = float(version)
        except ValueError:
            number = 0.0
        if number < OLDEST_VERSION:
            return _soap_fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
        if number > LAST_SOAP_LOGIN:
            return _soap_fault("INVALID_OPERATION", SOAP_LOGIN_VERSION.format(version=version))
        if not self.soap_login_enabled:
            return _soap_fault("INVALID_OPERATION", SOAP_LOGIN_DISABLED)
        return None

    def userinfo(self, req: Request, instance_url: str) -> Response:
        """The OpenID Connect userinfo of an OAuth token's user.

        A real org answers a session id from SOAP login() (or no valid token) with 403 and
        the plain-text body ``Bad_OAuth_Token`` (``Missing_OAuth_Token`` without a header), not
        the REST API's 401 array: observed on orgs, as reported against ``fields --create``;
        the reference notes do not cover this endpoint's refusals.
        """
        token = bearer(req)
        if token is None:
            return _text(403, "Missing_OAuth_Token")
        if not self.sessions.is_oauth(token):
            return _text(403, "Bad_OAuth_Token")
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


def _text(status: int, text: str) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain;charset=UTF-8")])


def _basic_auth(req: Request) -> tuple[str, str] | None:
    header = req.headers.get("Authorization", "") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, secret


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
