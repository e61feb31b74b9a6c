"""Load, expand and validate the TOML config, once, at the CLI.

The file is read with tomllib, every ``${VAR}`` in a string is read from the environment (a
missing variable is an error that names it), provider defaults are filled in (Salesforce's
referrer and NPS fields, HubSpot's connected-call disposition...), and pydantic validates the
whole. Every problem is collected with its TOML path, e.g. ``mapping.stages.closedwon``, so
one run shows them all; the CLI prints them and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from milestones.config.errors import ConfigError
from milestones.config.likelihood import LikelihoodSettings
from milestones.config.report import ReportSettings
from milestones.config.source import describe_error, expand, read_toml
from milestones.config.state import (
    DEFAULT_BACKUPS,
    DEFAULT_STATE_PATH,
    STATE_URL_ENV,
    apply_state_url,
    check_org,
    check_org_with_url,
    check_state_url,
)
from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.settings import (
    HUBSPOT_FIELD_NAMES,
    HUBSPOT_LIKELIHOOD_FIELD,
    HubSpotSettings,
)
from milestones.connectors.salesforce.settings import (
    SALESFORCE_FIELD_NAMES,
    SALESFORCE_LIKELIHOOD_FIELD,
    SalesforceSettings,
)
from milestones.logs import register_secret
from milestones.mapping.account_rules import AccountRules
from milestones.mapping.fields import ACCOUNT_FIELDS, FieldKey
from milestones.mapping.play_rules import PlaysRules
from milestones.mapping.rules import MappingRules, check_field_name
from milestones.store.location import StateLocation

Provider = Literal["hubspot", "salesforce"]

_OTHER_PROVIDER = {"hubspot": "salesforce", "salesforce": "hubspot"}

# Vendor values the neutral rules need, per provider; the user's own [mapping] wins.
PROVIDER_MAPPING_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "hubspot": {
        "advocate": {
            "referred_by_property": "referred_by",
            "nps_property": "hs_feedback_last_nps_rating",
            # "Last NPS survey date", HubSpot's own contact property beside the rating.
            "nps_date_property": "hs_feedback_last_survey_date",
        },
        "disqualify": {"lead_statuses": ["UNQUALIFIED"]},
        # HubSpot's built-in "Connected" call disposition.
        "two_way": {"call_connected_dispositions": ["f240bbac-87c9-4f6e-bf70-924b57d47db7"]},
    },
    "salesforce": {
        "advocate": {"referred_by_property": "Referred_By__c", "nps_property": "NPS_Score__c"},
        "disqualify": {"lead_statuses": ["Closed - Not Converted"]},
        "two_way": {"call_connected_dispositions": ["Connected"]},
    },
}


# The account fields and the person's company-name field, per provider ([accounts]).
ACCOUNT_FIELD_NAMES: dict[str, dict[FieldKey, str]] = {
    "hubspot": {
        "account_milestone": "account_milestone",
        "account_milestone_date": "account_milestone_date",
        "account_advocates": "account_advocates",
        "account_contacts_engaged": "account_contacts_engaged",
    },
    "salesforce": {
        "account_milestone": "Account_Milestone__c",
        "account_milestone_date": "Account_Milestone_Date__c",
        "account_advocates": "Account_Advocates__c",
        "account_contacts_engaged": "Account_Contacts_Engaged__c",
    },
}
COMPANY_PROPERTY = {"hubspot": "company", "salesforce": "Company"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StateSettings(_Section):
    """``[state]``: where the worker keeps its mirror, cursors, ledger and run log."""

    path: Path = Field(
        default=Path(DEFAULT_STATE_PATH), description="SQLite file, relative to the config file."
    )
    backups: int = Field(
        default=DEFAULT_BACKUPS,
        ge=0,
        le=365,
        description="Daily backups of the state file kept beside it (0: only before migrations).",
    )
    url: str | None = Field(
        default=None,
        description="PostgreSQL database holding the state instead of the file "
        "(postgresql://user@host:port/db); the password comes from PGPASSWORD, a libpq "
        f"service file or ~/.pgpass, never the URL. {STATE_URL_ENV} overrides it.",
    )
    org: str | None = Field(
        default=None,
        description="This org's name (lowercase letters, digits and _, at most 63). With url: "
        "its schema in that database, so each org's rows live apart. In a fleet "
        "(`milestones fleet`): its name, else the config file's stem.",
    )

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_state_url(value)
        return value

    @field_validator("org")
    @classmethod
    def _org_identifier(cls, value: str | None) -> str | None:
        if value is not None:
            check_org(value)
        return value

    @model_validator(mode="after")
    def _org_with_url(self) -> StateSettings:
        check_org_with_url(self.url, self.org)
        return self

    def location(self) -> StateLocation:
        """Where the state is, for ``store.location.open_state``."""
        return StateLocation(self.path, self.url, self.org, self.backups)

    def describe(self) -> str:
        """The state file, or the database and org (never a password), for messages."""
        return self.location().describe()


class PrivacySettings(_Section):
    """``[privacy]``: how long texts that may quote CRM values are kept (docs/privacy.md)."""

    keep_run_details_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days run details and failed-write texts are kept (they may quote CRM "
        "values); damaged state copies that cannot be scrubbed are deleted after as many days.",
    )


class WritebackSettings(_Section):
    """``[writeback]``: whether and under which names the fields are written."""

    enabled: bool = Field(default=True, description="false: derive and plan, never write.")
    fields: dict[FieldKey, str] = Field(
        default={},
        description="Rename written fields: canonical key -> CRM field name "
        "(keys: milestone, milestone_date, next_milestone, disqualified, disqualified_reason, "
        "is_advocate, advocate_since, deal_milestone, next_milestone_likelihood).",
    )
    leads: bool = Field(
        default=True, description="Salesforce: write the fields on unconverted Leads too."
    )

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[FieldKey, str]) -> dict[FieldKey, str]:
        for key, name in fields.items():
            if key in ACCOUNT_FIELDS:
                raise ValueError(f"{key} is an account field: rename it under [accounts] fields")
            check_field_name(name)
        return fields


class SyncSettings(_Section):
    """``[sync]``: cursor safety margins and batch sizes."""

    lookback_seconds: Annotated[int, Field(ge=0, le=86_400)] = Field(
        default=300,
        description="Each incremental pull starts this far before the stored cursor, so a "
        "record committed late with an earlier modified time is still seen.",
    )
    lag_seconds: Annotated[int, Field(ge=0, le=3_600)] = Field(
        default=30,
        description="Each pull stops this far before the run's start, leaving records still "
        "being written to the next run.",
    )
    derive_chunk: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1_000, description="People derived per chunk (bounds memory)."
    )


class Config(_Section):
    """The whole file."""

    provider: Provider = Field(description="Which CRM: hubspot or salesforce.")
    hubspot: HubSpotSettings | None = None
    salesforce: SalesforceSettings | None = None
    state: StateSettings = StateSettings()
    mapping: MappingRules = MappingRules()
    writeback: WritebackSettings = WritebackSettings()
    sync: SyncSettings = SyncSettings()
    report: ReportSettings = ReportSettings()
    likelihood: LikelihoodSettings = LikelihoodSettings()
    privacy: PrivacySettings = PrivacySettings()
    plays: PlaysRules = PlaysRules()
    accounts: AccountRules = AccountRules()

    @property
    def account_rules(self) -> AccountRules:
        """``[accounts]`` with the provider's company-name field filled in."""
        if self.accounts.company_property:
            return self.accounts
        return self.accounts.model_copy(
            update={"company_property": COMPANY_PROPERTY[self.provider]}
        )

    @model_validator(mode="after")
    def _provider_section(self) -> Config:
        if getattr(self, self.provider) is None:
            raise ValueError(
                f"provider is {self.provider!r} but the [{self.provider}] table is missing"
            )
        return self

    @property
    def write_spec(self) -> WriteSpec:
        """Field names and the extra properties the rules read, for the chosen connector."""
        defaults = HUBSPOT_FIELD_NAMES if self.provider == "hubspot" else SALESFORCE_FIELD_NAMES
        advocate = self.mapping.advocate
        extra = [advocate.referred_by_property, *advocate.flag_properties]
        extra += [p for p in (advocate.nps_property, advocate.nps_date_property) if p]
        names = {**defaults, **self.writeback.fields}
        if self.accounts.enabled:
            names |= {**ACCOUNT_FIELD_NAMES[self.provider], **self.accounts.fields}
            extra.append(self.account_rules.company_property or "")
        persons: tuple[Literal["contact", "lead"], ...] = ("contact",)
        if self.provider == "salesforce" and self.writeback.leads:
            persons = ("contact", "lead")
        key: FieldKey = "next_milestone_likelihood"
        if self.likelihood.writeback:
            default = (
                HUBSPOT_LIKELIHOOD_FIELD
                if self.provider == "hubspot"
                else SALESFORCE_LIKELIHOOD_FIELD
            )
            names.setdefault(key, default)
        else:
            names.pop(key, None)
        return WriteSpec(
            names=names,
            person_objects=persons,
            extra_properties=tuple(dict.fromkeys(extra)),
            history_properties=tuple(advocate.flag_properties),
            referrer_property=advocate.referred_by_property,
        )


def load_config(
    path: Path, environ: Mapping[str, str] | None = None, *, unset: str | None = None
) -> Config:
    """Read and validate ``path``; raise ``ConfigError`` listing every problem.

    ``unset``: what a ``${VAR}`` that is not set reads as, instead of a problem, for commands
    that only read states and call no CRM (the fleet commands)."""
    env = os.environ if environ is None else environ
    raw = read_toml(path)
    return parse_config(raw, source=str(path), environ=env, base_dir=path.parent, unset=unset)


def parse_config(
    raw: dict[str, Any],
    *,
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    unset: str | None = None,
) -> Config:
    """Validate an already-parsed TOML table (see ``load_config``)."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    provider = raw.get("provider")
    if provider in ("hubspot", "salesforce"):
        # The other CRM's table may sit in the file unused: its ${VARS} need not be set.
        raw = {k: v for k, v in raw.items() if k != _OTHER_PROVIDER[provider]}
    expanded = expand(raw, env, (), problems, unset)
    if not isinstance(expanded, dict):  # pragma: no cover - tomllib always gives a table
        raise ConfigError(source, ["the file is not a TOML table"])
    _apply_provider_defaults(expanded)
    apply_state_url(expanded, env, problems)
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        problems.extend(describe_error(error) for error in exc.errors())
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    _register_secrets(config)
    if config.state.url is not None and env.get("PGPASSWORD"):
        register_secret(env["PGPASSWORD"])  # libpq's password: never in a log line either
    if base_dir is not None and not config.state.path.is_absolute():
        state = config.state.model_copy(update={"path": base_dir / config.state.path})
        config = config.model_copy(update={"state": state})
    return config


def _register_secrets(model: BaseModel) -> None:
    """Hand every SecretStr of the config to the log redactor."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
        elif isinstance(value, BaseModel):
            _register_secrets(value)


def _apply_provider_defaults(raw: dict[str, Any]) -> None:
    provider = raw.get("provider")
    defaults = PROVIDER_MAPPING_DEFAULTS.get(provider) if isinstance(provider, str) else None
    if defaults is None:
        return
    mapping = raw.setdefault("mapping", {})
    if not isinstance(mapping, dict):
        return
    for section, values in defaults.items():
        table = mapping.setdefault(section, {})
        if isinstance(table, dict):
            for key, value in values.items():
                table.setdefault(key, value)
