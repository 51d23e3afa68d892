"""The event feed: the event log as a documented stream others follow, by pull or by webhook."""
