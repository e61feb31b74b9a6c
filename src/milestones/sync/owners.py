"""Owner names: read from the CRM at most once a day, or when an unknown owner appears.

The report and the likelihood name sales reps instead of showing ids. A run with no CRM
change pays nothing for them once they were read today; a run that pulled a person owned by
a rep the last read did not cover reads them again. A CRM that refuses (a HubSpot key
without the ``crm.objects.owners.read`` scope, say) costs a warning, never the run, and is
asked again the next day.
"""

from __future__ import annotations

import logging
from datetime import datetime

from milestones.connectors.base import Connector, ConnectorError
from milestones.store.owners import OwnerNames
from milestones.store.sqlite import Store
from milestones.sync.periodic import Periodic

log = logging.getLogger("milestones.sync")


PERIODIC_NAME = "owner_names"


def refresh_owner_names(store: Store, connector: Connector, now: datetime, pulled: int) -> bool:
    """Read the owner names when due; whether they were read."""
    owners, periodic = OwnerNames(store.db), Periodic(store)
    is_due = periodic.is_due(PERIODIC_NAME, now) or (pulled > 0 and bool(owners.unasked()))
    if not is_due:
        return False
    asked = owners.unasked() | set(owners.names())
    try:
        names = connector.owners()
    except ConnectorError as exc:
        log.warning("owner names not read (the report shows owner ids): %s", exc)
        names, read = owners.names(), False
    else:
        asked, read = asked | set(names), True
    with store.transaction():
        owners.save(names, asked)
        periodic.mark_done(PERIODIC_NAME, now)
    return read
