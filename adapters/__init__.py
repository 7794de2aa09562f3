"""Adapters: canonical-document builders and the client side of the exchange (library, agent)."""
