"""Pure derivation: canonical records, the mapping rules and derive(); no I/O, `now` passed in."""
