"""The Salesforce flavour of the sandbox: the demo world through Salesforce's REST API.

Serves https on 127.0.0.1 with a throwaway CA (``server.tls``), because simple-salesforce
always speaks https; ``server.ca_bundle`` is the file clients must trust (and mind the
``REQUESTS_CA_BUNDLE`` pitfall: a session then needs ``trust_env = False``). Use it
in-process::

    with SalesforceServer(generate_world(seed=7, contacts=200)) as srv:
        sf = Salesforce(instance_url=srv.url, session_id=srv.token, session=s)

Routes (under ``/services/data/v{version}``; see reference/salesforce-api.md, section 8):
``query``/``queryAll`` (+ ``/{locator}``), ``sobjects`` (global describe),
``sobjects/{Type}/describe``, ``sobjects/{Type}/deleted``,
``GET|PATCH|DELETE sobjects/{Type}/{Id}`` (DELETE moves the record to the recycle bin),
``POST sobjects/{Type}`` (Contact, Lead, PermissionSet, PermissionSetAssignment,
FieldPermissions), ``PATCH|POST|DELETE composite/sobjects``,
``GET composite/sobjects/{Type}``, ``limits``, ``tooling/query`` and
``POST tooling/sobjects/CustomField``; logins and ``/services/oauth2/userinfo`` in
``salesforce.auth``. ``GET /services/data`` lists versions 31.0-68.0, each served; a retired
one (below 31.0) answers 410 (``salesforce.versions``).

Logins: the External Client App (``server.login.credentials``) takes client credentials and
JWT bearer assertions signed with ``server.jwt_key_file`` (made at start unless the
credentials bring a certificate). SOAP login() can be switched off as on orgs created since
Winter '26 (``soap_login=False``), and the user can lack "Use Any API Auth"
(``use_any_api_auth=False``). Describe honours ``If-Modified-Since`` (304). Not served: the
Bulk APIs.

Every answer carries ``Sforce-Limit-Info: api-usage=N/M``; past M requests in the
sandbox's lifetime every call gets 403 ``REQUEST_LIMIT_EXCEEDED`` ("TotalRequests Limit
exceeded."). Faults (``server.faults``): ``429`` becomes the concurrency form of that 403,
``401`` an ``INVALID_SESSION_ID``, ``503`` an HTML page, ``record`` per-record
``UNABLE_TO_LOCK_ROW`` in collections, ``slow`` a delayed answer.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from milestones.sandbox.salesforce import versions
from milestones.sandbox.salesforce import vocab as vocab
from milestones.sandbox.salesforce.auth import (
    Credentials,
    LoginService,
    Sessions,
    bearer,
    unauthorized,
)
from milestones.sandbox.salesforce.field_history import contact_history
from milestones.sandbox.salesforce.history import opportunity_history as history_object
from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.salesforce.oauth import make_signing_pair
from milestones.sandbox.salesforce.objects import WorldObjects
from milestones.sandbox.salesforce.query import Catalog, QueryService, attributes
from milestones.sandbox.salesforce.routes import errors, register_routes
from milestones.sandbox.salesforce.schema import SObject, id_number, wire_value
from milestones.sandbox.salesforce.setup import OrgSetup
from milestones.sandbox.salesforce.writes import Writer
from milestones.sandbox.server.core import SandboxServer
from milestones.sandbox.server.faults import FaultPlan
from milestones.sandbox.server.http import Request, Response
from milestones.sandbox.server.tls import TlsFiles, create_tls_files
from milestones.sandbox.world.store import World, kind_of

DEFAULT_SESSION = "00D5g0000000001!sandbox-session"
DEFAULT_DAILY_MAX = 100_000
API_VERSION = "59.0"


class SalesforceServer(SandboxServer):
    """A fake Salesforce org over the shared world; see the module docstring."""

    flavour = "salesforce"

    def __init__(
        self,
        world: World,
        *,
        session_id: str = DEFAULT_SESSION,
        faults: FaultPlan | str | None = None,
        daily_api_max: int = DEFAULT_DAILY_MAX,
        credentials: Credentials | None = None,
        tls: TlsFiles | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        soap_login: bool = True,
        use_any_api_auth: bool = True,
        opportunity_history: bool = True,
        field_history: bool = True,
    ) -> None:
        self._owns_tls = tls is None
        self.tls = tls or create_tls_files()
        super().__init__(
            world,
            token=session_id,
            faults=faults,
            host=host,
            port=port,
            ssl_context=self.tls.server_context(),
        )
        self.daily_api_max = daily_api_max
        self.api_used = 0
        self._usage_lock = threading.Lock()
        credentials = credentials or Credentials()
        self.setup = OrgSetup(world, credentials.username)
        self.objects: dict[str, SObject] = {**WorldObjects(world).build(), **self.setup.build()}
        if opportunity_history:  # an org may hide it from the integration user
            self.objects["OpportunityHistory"] = history_object(world)
        if field_history:  # tracking is set per object by the org's admin
            self.objects["ContactHistory"] = contact_history(world)
        self.catalog = Catalog(self.objects, self.setup)
        self.tooling = Catalog(self.setup.tooling_objects(), self.setup)
        self.queries = QueryService(self.catalog, lambda v: f"/services/data/v{v}")
        self.tooling_queries = QueryService(self.tooling, lambda v: f"/services/data/v{v}/tooling")
        self.writer = Writer(world, self.catalog, self.faults_fail_record)
        self.sessions = Sessions(session_id)
        self.org_id = self.objects["Organization"].rows(False)[0]["Id"]
        self.jwt_key_file: Path | None = None
        if credentials.jwt_certificate is None:  # the app's certificate, and its key for clients
            self.jwt_key_file, certificate = make_signing_pair(
                self.tls.directory, credentials.client_id
            )
            credentials = dataclasses.replace(credentials, jwt_certificate=certificate)
        self.login = LoginService(
            self.sessions,
            credentials,
            self.org_id,
            self.setup.user_id,
            soap_login=soap_login,
            use_any_api_auth=use_any_api_auth,
        )
        register_routes(self)

    @property
    def ca_bundle(self) -> str:
        """Path of the CA certificate clients must trust."""
        return str(self.tls.ca_bundle)

    def faults_fail_record(self) -> bool:
        return self.faults.fail_record()

    def expire_sessions(self) -> None:
        """Invalidate every session (the initial one included): clients must log in again."""
        self.sessions.expire_all()

    def stop(self) -> None:
        """Stop serving; delete the TLS files when this server made them."""
        super().stop()
        if self.jwt_key_file is not None:
            self.jwt_key_file.unlink(missing_ok=True)
        if self._owns_tls:
            self.tls.remove()

    # ---- hooks of the core ---------------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        if req.path.startswith(
            ("/services/oauth2/token", "/services/oauth2/userinfo", "/services/Soap/u/")
        ):
            return None  # logins, and userinfo, which checks its OAuth token itself
        if req.path.rstrip("/") == "/services/data":  # the version list is public
            return None
        gone = versions.unserved(req.path)  # a retired or unknown version, before the session
        if gone is not None:
            return gone
        session_id = bearer(req)
        if session_id is None or not self.sessions.is_valid(session_id):
            return unauthorized()
        with self._usage_lock:
            self.api_used += 1
            over = self.api_used > self.daily_api_max
        return self.daily_limited(req) if over else None

    def handle(self, req: Request) -> Response | None:
        resp = super().handle(req)
        if resp is not None and resp.status == 405:
            # Salesforce answers a wrong verb with its error array, not the core's object.
            resp.body = errors(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed."
            ).body
        return resp

    def unauthorized(self, req: Request) -> Response:
        return unauthorized()

    def not_found(self, req: Request) -> Response:
        return errors(404, "NOT_FOUND", "The requested resource does not exist")

    def rate_limited(self, req: Request, route_name: str) -> Response:
        # The concurrency form: too many long-running requests at once (reference 5.1).
        return errors(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")

    def daily_limited(self, req: Request) -> Response:
        return errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def decorate(self, req: Request, resp: Response, route_name: str | None) -> None:
        if req.path.startswith("/services/data"):
            resp.header("Sforce-Limit-Info", f"api-usage={self.api_used}/{self.daily_api_max}")

    def limits(self) -> dict[str, Any]:
        remaining = max(0, self.daily_api_max - self.api_used)
        return {
            "DailyApiRequests": {"Max": self.daily_api_max, "Remaining": remaining},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DataStorageMB": {"Max": 1024, "Remaining": 1000},
        }

    # ---- inspection ----------------------------------------------------------------------

    def resolve(self, kind: str, record_id: str) -> tuple[str, int]:
        """Accept Salesforce object names and 15/18-character ids as well as world ones."""
        if record_id.isdigit():
            return _WORLD_KIND.get(kind, kind), int(record_id)
        number = id_number(record_id)
        prefix_kind = {
            "003": "person",
            "00Q": "person",
            "001": "company",
            "006": "deal",
            "005": "owner",
        }
        kind = prefix_kind.get(record_id[:3]) or kind_of(number)
        return kind, number

    def mutate(self, op: str, **args: Any) -> dict[str, Any] | None:
        """The core's mutations, also taking Salesforce ids, object names and StageNames."""
        translated: dict[str, Any] = {}
        for key, value in args.items():
            if key == "kind" and isinstance(value, str):
                value = _WORLD_KIND.get(value, value)
            elif key == "stage" and isinstance(value, str):
                value = vocab.STAGE_IDS.get(value.casefold(), value)
            elif isinstance(value, str):
                value = _world_number(value)
            elif isinstance(value, list | tuple):
                value = [_world_number(v) for v in value]
            translated[key] = value
        return super().mutate(op, **translated)

    def render(self, kind: str, record: Any) -> Any:
        """Each Salesforce object the record shows up as, with every visible field."""
        shown = {}
        for name in _OBJECTS_OF.get(kind, ()):
            obj = self.objects[name]
            if obj.lookup(obj.row_id(record)) is not None:
                shown[name] = self.record_json(obj, record)
        return shown

    def record_json(self, obj: SObject, row: Any, names: list[str] | None = None) -> dict[str, Any]:
        """A record with the named (default: every visible) field, as `GET sobjects` shows it."""
        record: dict[str, Any] = {"attributes": attributes(obj, obj.row_id(row), API_VERSION)}
        for definition in obj.fields.values():
            if names is not None and definition.name.lower() not in names:
                continue
            if self.setup.can_read(obj.name, definition):
                record[definition.name] = wire_value(definition, definition.get(row))
        return record


def _world_number(value: Any) -> Any:
    """A world id for a Salesforce id of a world-backed object; anything else unchanged."""
    normal = normalize_id(value) if isinstance(value, str) else None
    if normal is None or normal[:3] not in _WORLD_PREFIXES:
        return value
    return id_number(normal)


_WORLD_PREFIXES = frozenset({"001", "003", "005", "006", "00Q", "00T", "00U", "02s"})


_WORLD_KIND = {"Contact": "person", "Lead": "person", "Account": "company", "Opportunity": "deal",
               "User": "owner", "Event": "meeting"}  # fmt: skip
_OBJECTS_OF = {
    "person": ("Contact", "Lead"),
    "company": ("Account",),
    "deal": ("Opportunity",),
    "email": ("Task", "EmailMessage"),
    "call": ("Task",),
    "task": ("Task",),
    "meeting": ("Event",),
}
