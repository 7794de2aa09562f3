"""The commented configuration ``hie-agent init`` writes (works as is with the ``hie demo`` layout)."""
from __future__ import annotations

from pathlib import Path

from protocol.limits import MAX_BATCH_DOCUMENTS

TEMPLATE = '''\
# hie-agent configuration — 区域卫生信息平台 clinic agent.
# Relative paths are relative to this file's folder. After editing: `hie-agent status`.

member = "{member}"                        # your member code (the one in your certificate)
member_name = ""                            # optional, shown to the source adapters
hub_url = "{hub}"
state_dir = "agent-state"                   # the outbox (outbox.db): back it up, never delete it

[certificates]                              # files the platform gave you
cert = "{pki}/members/{member}/cert.pem"       # your certificate
key = "{pki}/members/{member}/key.pem"         # your private key (keep it readable only by the agent)
hub_cert = "{pki}/hub/enc-cert.pem"         # the hub's encryption certificate
ca_cert = "{pki}/ca/cert.pem"               # the platform CA: receipts and replies must be signed under it
# crl = "{pki}/crl.pem"                     # optional copy of the revocation list

[schedule]                                  # seconds between runs under `hie-agent run`
collect = 60
push = 30
replies = 120

[push]
batch_size = 100                            # documents per SubmitBatch request (the hub allows up to {max_batch})
timeout = 30                                # seconds to wait for the hub
backoff_initial = 5                         # after a failure wait 5 s, then 10, 20, ... (with jitter)
backoff_max = 3600                          # ... but never more than an hour between tries

[warnings]
certificate_days = 30                       # warn this many days before a certificate expires
clock_skew_seconds = 60                     # warn when this computer's clock is this far from the hub's

# Sources: what to send. A folder of files, read by an adapter (kind), or a query on your database.
[[sources]]
name = "standard-xml"                       # unique name; never rename a source that has sent data
kind = "canonical"                          # files that already hold one canonical document each
folder = "outgoing"                         # where your system writes the files
pattern = "*.xml"
after = "move"                              # "move" sent files into done_folder, or "keep" them
done_folder = "outgoing/sent"

# [[sources]]                               # rows of your own database (see docs/agent.md)
# name = "his-visits"
# kind = "database"
# database = "sqlite:///clinic.db"          # any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db
# query = "SELECT * FROM visit WHERE updated_at >= :watermark ORDER BY updated_at"
# watermark = "updated_at"                  # the query receives the last value seen as :watermark
# initial_watermark = "1970-01-01"

# Replies from the platform: where each kind is written before it is acknowledged.
[[replies]]
kinds = ["*"]                               # every kind, one file per reply
folder = "replies"

# [[replies]]                               # or rows in your database (the table must exist)
# kinds = ["ack"]
# database = "sqlite:///clinic.db"
# table = "hie_reply"
# [replies.columns]                         # your column = reply field (or xml:Element inside the reply)
# reply_id = "reply_id"
# message_id = "xml:MessageId"
# status = "xml:Status"
# code = "xml:Code"
# field = "xml:Field"
'''


def example_config(*, member: str, hub_url: str, pki: str) -> str:
    """The example configuration for ``member``, with certificates under ``pki``."""
    return TEMPLATE.format(member=member, hub=hub_url, pki=Path(pki).as_posix().rstrip("/"),
                           max_batch=MAX_BATCH_DOCUMENTS)


__all__ = ["example_config"]
