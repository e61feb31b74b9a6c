"""What every connector's settings share: a strict frozen model, the secret check, pacing.

The vendor tables (``[hubspot]``, ``[salesforce]``) live in each vendor's ``settings``
module, beside the connector that reads them; ``milestones.sync.config`` composes them into
the whole file's model. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Settings(BaseModel):
    """A settings table: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def required_secret(value: SecretStr) -> SecretStr:
    """A credential the CRM needs: empty means ``${VAR}`` read an empty variable."""
    if not value.get_secret_value().strip():
        raise ValueError("is empty (is its environment variable set to an empty string?)")
    return value


class Pacing(Settings):
    """Retry and pacing knobs shared by both connectors."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=6, description="Tries per request before a passing fault becomes an error."
    )
    max_wait_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        default=60.0, description="Longest single backoff wait."
    )
