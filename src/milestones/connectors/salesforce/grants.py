"""Field-level security for the integration user: one permission set, assigned, granting
read and edit on the written fields (reference section 4, FieldPermissions).

``FieldPermissions`` lives on permission sets only; ``PermissionsEdit`` needs
``PermissionsRead``. Each step looks before it creates, so running it twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from simple_salesforce.format import format_soql

from milestones.connectors.base import (
    ConfigurationError,
    ConnectorError,
    QuotaExhausted,
    StreamError,
)
from milestones.connectors.salesforce.client import CONNECTOR, SalesforceClient
from milestones.connectors.salesforce.settings import SalesforceJwt, SalesforcePassword

log = logging.getLogger(__name__)
EDIT = {"PermissionsRead": True, "PermissionsEdit": True}


def _rows(client: SalesforceClient, soql: str) -> list[dict[str, Any]]:
    sf = client.sf
    answer = client.call("meta", lambda: sf.query(soql))
    return list(answer.get("records") or [])


def _create(client: SalesforceClient, sobject: str, body: dict[str, Any]) -> str:
    sf = client.sf
    answer = client.call(
        "meta", lambda: sf.restful(f"sobjects/{sobject}/", method="POST", json=body)
    )
    if not isinstance(answer, dict) or not answer.get("id"):
        raise StreamError(f"creating {sobject} returned no id", connector=CONNECTOR)
    return str(answer["id"])


def running_user_id(client: SalesforceClient) -> str:
    """The integration user's id: from the OAuth userinfo endpoint, else by username.

    With client credentials the token belongs to the External Client App's Run As user and
    no username is configured, so userinfo is the only way to name that user (reference
    crm-api-changes-2026.md section 6, row 12). A session id from SOAP login() is no OAuth
    token: a real org answers userinfo with 403 ``Bad_OAuth_Token``, so every refusal (any
    4xx, or an answer without a user id) falls back on the username where one is configured.
    """
    sf = client.sf
    refused = "no user id"
    try:
        info = client.call("meta", lambda: sf.oauth2("userinfo"))
        if isinstance(info, dict) and info.get("user_id"):
            return str(info["user_id"])
    except ConnectorError as error:
        if not _is_refusal(error):
            raise
        refused = f"{error.status or ''} {error.code or error.message[:40]}".strip() or "refused"
        log.info("salesforce: userinfo unavailable (%s); looking the user up by name", error)
    settings = client.settings
    if isinstance(settings, SalesforcePassword | SalesforceJwt):
        rows = _rows(
            client, format_soql("SELECT Id FROM User WHERE Username = {}", settings.username)
        )
        if rows:
            return str(rows[0]["Id"])
    raise ConfigurationError(
        f"cannot tell which user the integration runs as (/services/oauth2/userinfo gave "
        f"{refused}): let the External Client App's token read userinfo, or grant read and "
        "edit on the fields by hand",
        connector=CONNECTOR,
    )


def _is_refusal(error: ConnectorError) -> bool:
    """Whether userinfo refused (so the lookup by name may run) rather than the run must stop.

    403 is a ConfigurationError, 404 a StreamError, a 401 or 429 that outlived its retries a
    RetryableError; all are refusals of this one probe. The spent daily quota is not.
    """
    if isinstance(error, QuotaExhausted):
        return False
    if isinstance(error, StreamError | ConfigurationError):
        return True
    return error.status is not None and 400 <= error.status < 500


def permission_set(client: SalesforceClient, name: str) -> str:
    """The id of permission set ``name`` assigned to the running user (made if missing)."""
    rows = _rows(client, format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", name))
    if rows:
        set_id = str(rows[0]["Id"])
    else:
        set_id = _create(client, "PermissionSet", {"Name": name, "Label": name.replace("_", " ")})
    user_id = running_user_id(client)
    held = _rows(
        client,
        format_soql(
            "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}",
            user_id,
            set_id,
        ),
    )
    if not held:
        _create(
            client, "PermissionSetAssignment", {"AssigneeId": user_id, "PermissionSetId": set_id}
        )
    return set_id


def grant_edit(client: SalesforceClient, set_name: str, fields: Sequence[tuple[str, str]]) -> None:
    """Grant read and edit on ``fields`` ((object, "Object.Field") pairs) to the user."""
    if not fields:
        return
    set_id = permission_set(client, set_name)
    names = [full for _sobject, full in fields]
    existing = {
        str(row["Field"]).lower(): row
        for row in _rows(
            client,
            format_soql(
                "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                "WHERE ParentId = {} AND Field IN {}",
                set_id,
                names,
            ),
        )
    }
    sf = client.sf
    for sobject, full in fields:
        row = existing.get(full.lower())
        if row is None:
            _create(client, "FieldPermissions", {
                "ParentId": set_id, "SobjectType": sobject, "Field": full,
                "PermissionsRead": True, "PermissionsEdit": True,
            })  # fmt: skip
        elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
            record = str(row["Id"])
            client.call(
                "meta",
                lambda record=record: sf.restful(
                    f"sobjects/FieldPermissions/{record}", method="PATCH", json=EDIT
                ),
            )
        log.info("salesforce: granted read and edit on %s", full)
