"""The org file: what it may say (its schema, fields, notifications, limits and access rules) and
the checks on it that need nothing loaded. Loading and applying it is leadpool.org."""
