"""The likelihood: how likely and how soon each milestone leads to the next, from the ledger."""
