"""Every SQL statement of the worker: the schema, its migrations and a typed Store API."""
