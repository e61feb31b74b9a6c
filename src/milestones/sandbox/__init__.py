"""A fake HubSpot and Salesforce server over seeded worlds, for the demo, tests and benchmarks."""
