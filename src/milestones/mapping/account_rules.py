"""``[accounts]``: the settings of the account roll-up (``mapping.accounts``).

Apart from the roll-up itself so that code reading accounts from the state does not build the
config's validators.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from milestones.mapping.fields import ACCOUNT_FIELDS, FieldKey
from milestones.mapping.rules import check_field_name

# Mailbox providers whose domain names no employer. Sources: the providers' own sign-up
# domains; extend it under [accounts] free_mail_domains.
FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
)


class AccountRules(BaseModel):
    """``[accounts]``: roll people's milestones up to their company or Account (opt-in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False,
        description="Derive each company's (Salesforce: Account's) milestone from its people "
        "and write the account fields to it.",
    )
    group_by_domain: bool = Field(
        default=True,
        description="People without a CRM company are grouped by email domain and company "
        "name; such groups are reported, never written (no record to write to).",
    )
    free_mail_domains: tuple[str, ...] = Field(
        default=FREE_MAIL_DOMAINS,
        description="Email domains that name no employer: never grouped on.",
    )
    company_property: str | None = Field(
        default=None,
        description="The person's company-name field read for grouping (empty: HubSpot "
        "company, Salesforce the Lead's Company).",
    )
    fields: dict[FieldKey, str] = Field(
        default={},
        description="Rename the account fields: account_milestone, account_milestone_date, "
        "account_advocates, account_contacts_engaged -> CRM field name.",
    )

    @field_validator("company_property")
    @classmethod
    def _property_name(cls, name: str | None) -> str | None:
        return None if name is None else check_field_name(name)

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[FieldKey, str]) -> dict[FieldKey, str]:
        for key, name in fields.items():
            if key not in ACCOUNT_FIELDS:
                raise ValueError(f"{key!r} is not an account field ({', '.join(ACCOUNT_FIELDS)})")
            check_field_name(name)
        return fields

    @field_validator("free_mail_domains")
    @classmethod
    def _lower(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip("@") for d in domains if d.strip())
