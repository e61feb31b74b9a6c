"""When Salesforce stops supporting the APIs the worker speaks, for ``check`` and every run.

Pure: dates in, ``ApiSupport`` records out, no simple-salesforce (config checks stay cheap).
The dates are those of reference crm-api-changes-2026.md sections 5.1-5.2. Salesforce names
a release (Summer '27), not a day: a release stands here for June 1st of its year, the
date third parties cite for the SOAP login() retirement.
"""

from __future__ import annotations

from datetime import date

from milestones.connectors.base import ApiSupport
from milestones.connectors.salesforce.settings import (
    DATA_API_VERSION,
    AnySalesforceSettings,
    SalesforcePassword,
)

CONNECTOR = "salesforce"
WARN_DAYS = 365  # within a year of retirement
SUMMER_25, SUMMER_27, SUMMER_28 = date(2025, 6, 1), date(2027, 6, 1), date(2028, 6, 1)
EOL_POLICY = "https://developer.salesforce.com/docs/platform/ajax/guide/sforce-api-ajax-eol.html"
RETIRE_31_40 = "https://help.salesforce.com/s/articleView?id=005321531"
SOAP_LOGIN_RETIREMENT = "https://help.salesforce.com/s/articleView?id=005132110&type=1"
SOAP_LOGIN_DATE = (
    "https://vantagepoint.io/blog/sf/salesforce-soap-api-login-retirement-migration-guide-2027"
)


def api_support(settings: AnySalesforceSettings) -> list[ApiSupport]:
    """The APIs this configuration speaks, each with its announced end of support."""
    entries = [_data_api(settings.api_version)]
    if isinstance(settings, SalesforcePassword):
        entries.append(_soap_login(settings.login_api_version))
    return entries


def _data_api(version: str) -> ApiSupport:
    major = int(float(version))
    move_on = f'set api_version = "{DATA_API_VERSION}" in [salesforce] (the tested version)'
    api = f"the REST API v{version}"
    if major <= 30:
        return ApiSupport(
            CONNECTOR,
            api,
            SUMMER_25,
            WARN_DAYS,
            move_on,
            "API versions 30.0 and older are retired (21.0-30.0 in Summer '25, 2025-06-01 "
            f"standing for the release) and answer 410 GONE: {EOL_POLICY}",
        )
    if major <= 40:
        return ApiSupport(
            CONNECTOR,
            api,
            SUMMER_28,
            WARN_DAYS,
            move_on,
            "API versions 31.0-40.0 are deprecated in Summer '27 and retired in Summer '28; "
            f"Salesforce gives the release, not the day (2028-06-01 stands for it): "
            f"{RETIRE_31_40}",
        )
    return ApiSupport(
        CONNECTOR,
        api,
        None,
        WARN_DAYS,
        "none needed",
        f"no retirement announced for API versions after 40.0: {EOL_POLICY}",
    )


def _soap_login(version: str) -> ApiSupport:
    return ApiSupport(
        CONNECTOR,
        f'SOAP login() (auth = "password", API {version})',
        SUMMER_27,
        WARN_DAYS,
        'move to auth = "client_credentials" with an External Client App (README.md, '
        '"Quick start: Salesforce")',
        "Salesforce retires SOAP login() in Summer '27 "
        f"({SOAP_LOGIN_RETIREMENT}); it gives the release, not the day: 2027-06-01 is the "
        f"date third parties cite ({SOAP_LOGIN_DATE})",
    )
