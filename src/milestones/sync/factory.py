"""Build the configured connector and the engine a sync runs: which class serves which CRM."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from milestones.config.settings import Config
from milestones.connectors.base import Connector
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import CrashHook, Progress


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


def build_engine(
    config: Config,
    store: Store,
    connector: Connector,
    *,
    progress: Progress | None = None,
    crash: CrashHook | None = None,
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
    )
