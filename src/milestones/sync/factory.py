"""Build the configured connector: the one place that knows which class serves which CRM."""

from __future__ import annotations

from typing import Any

from milestones.connectors.base import Connector
from milestones.sync.config import Config


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
