"""CRM connections: leads in from HubSpot, Salesforce and Pipedrive; owners back to them."""
