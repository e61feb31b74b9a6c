"""The report: a model computed from the store, rendered as text, JSON, HTML and SVG."""
