"""The demo world: a provider-neutral, mutable, in-memory CRM and its seeded generator."""
