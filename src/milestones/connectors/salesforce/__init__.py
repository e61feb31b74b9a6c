"""The Salesforce connector: ``connector.SalesforceConnector`` and the modules it is made of."""
