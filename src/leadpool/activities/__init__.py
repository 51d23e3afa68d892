"""Activities from outside leadpool (a CRM, a dialer, the API): calls, emails, meetings, stages."""
