"""The HubSpot flavour of the sandbox: the CRM API, legacy and 2026-09, over the demo world."""
