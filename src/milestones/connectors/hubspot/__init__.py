"""The HubSpot connector: ``connector.HubSpotConnector`` and the modules it is made of."""
