"""Build the configured connector and the engine a sync runs: which class serves which CRM."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from milestones.config.settings import Config
from milestones.connectors.base import ApiSupport, Connector
from milestones.connectors.hubspot import versions as hubspot_versions
from milestones.connectors.salesforce import versions as salesforce_versions
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import CrashHook, Progress

if TYPE_CHECKING:
    from milestones.sync.likelihood import Bands
    from milestones.sync.plays import PlayRunner

log = logging.getLogger("milestones.sync")


def build_connector(config: Config, **options: Any) -> Connector:
    """The connector for ``config.provider``, with the config's field names and properties.

    ``options`` (``sleep``, ``clock``...) are handed to the connector: tests replace waits.
    """
    spec = config.write_spec
    if config.provider == "hubspot":
        from milestones.connectors.hubspot.connector import HubSpotConnector

        assert config.hubspot is not None  # the config validator guarantees it
        connector: Connector = HubSpotConnector(config.hubspot, spec, **options)
        return connector
    from milestones.connectors.salesforce.connector import SalesforceConnector

    assert config.salesforce is not None
    # Describe results are kept beside the state between runs: seven describes a run would
    # otherwise be most of an incremental run's calls.
    state = config.state.path
    options.setdefault("describe_cache", state.with_name(state.name + ".describe.json"))
    connector = SalesforceConnector(config.salesforce, spec, **options)
    return connector


def api_support(config: Config) -> list[ApiSupport]:
    """Each API the configured connector speaks, with its vendor's end of support."""
    if config.provider == "hubspot":
        assert config.hubspot is not None
        return hubspot_versions.api_support(config.hubspot.api_version)
    assert config.salesforce is not None
    return salesforce_versions.api_support(config.salesforce)


def warn_of_retiring_apis(config: Config, today: date) -> list[ApiSupport]:
    """Log one warning line per API whose support ends within its warning window."""
    due = [support for support in api_support(config) if support.is_due(today)]
    for support in due:
        log.warning("%s", support.warning(today))
    return due


def build_engine(
    config: Config,
    store: Store,
    connector: Connector,
    *,
    progress: Progress | None = None,
    crash: CrashHook | None = None,
    bands: Bands | None = None,
) -> Engine:
    """The engine ``milestones sync`` runs: the config's rules, names, pacing and objects."""
    return Engine(
        store,
        connector,
        config.mapping,
        config.write_spec.names,
        lookback=timedelta(seconds=config.sync.lookback_seconds),
        lag=timedelta(seconds=config.sync.lag_seconds),
        chunk_size=config.sync.derive_chunk,
        objects=(*config.write_spec.person_objects, "deal"),
        progress=progress,
        crash=crash,
        bands=bands,
        read_owners=True,
        accounts=config.account_rules,
        plays=build_plays(config, store, connector),
    )


def build_plays(config: Config, store: Store, connector: Connector) -> PlayRunner | None:
    """The plays step when a play is enabled; None (no reads, no calls) otherwise."""
    if not config.plays.enabled():
        return None
    tasks = getattr(connector, "tasks", None)
    if tasks is None:
        raise ValueError(f"the {config.provider} connector cannot create tasks for the plays")
    # Imported here: a sync without plays loads none of their code.
    from milestones.sync.plays import PlayRunner

    return PlayRunner(store, tasks, config.mapping, config.plays, config.sync.derive_chunk)
