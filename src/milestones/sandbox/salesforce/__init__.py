"""The Salesforce flavour of the sandbox: the REST API and SOQL over the demo world."""
