"""The exchange domain: the security gate, the inbox (its rules and its group commit), replies, the
exchange's SOAP operations and its SQL. See docs/architecture.md for the route of a message."""
