"""The HubSpot flavour of the sandbox: the CRM v3/v4 API over the demo world."""
