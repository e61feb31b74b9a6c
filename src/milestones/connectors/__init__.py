"""Connectors: each speaks one CRM's wire format and turns it into canonical records and back."""
