"""The member on bad lines (a proxy answering HTML) and with a clock that was set back."""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from adapters.agent import Agent, load
from adapters.agent.config import PushPolicy
from adapters.agent.outbox import Outbox
from adapters.agent.send import Backoff

from .conftest import write_config, write_documents


def test_backoff_set_under_a_clock_that_was_ahead_does_not_block_for_days(tmp_path):
    # The clock was a day ahead (so the hub refused: security.timestamp.*), the agent backed off,
    # then someone set the clock right. The stored retry time is now a day away: waiting for it
    # would stop sending for a day although backoff_max is an hour.
    policy = PushPolicy(backoff_initial=5, backoff_max=3600)
    with Outbox(tmp_path / "outbox.db", member="CLINIC01") as outbox:
        outbox.set_meta(**{"push.failures": 3, "push.retry_at": time.time() + 86400 + 30})
        assert Backoff(outbox, policy).retry_at <= time.time() + policy.backoff_max


class _Garbage(http.server.BaseHTTPRequestHandler):
    """A captive portal or a misconfigured proxy: HTML with status 200 for every request."""

    def _answer(self):
        body = b"<html><body>Please log in<br></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def garbage_hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/soap/exchange"
    server.shutdown()
    server.server_close()


def test_a_proxy_answering_html_halts_the_push_and_backs_off(tmp_path, pki_dir, garbage_hub):
    config = write_config(tmp_path / "clinic", hub_url=garbage_hub, pki=pki_dir)
    write_documents(config.parent, 2)
    agent = Agent(load(config))
    agent.collect()
    result = agent.push()
    assert result.halted is not None and result.halted.code == "transport.unavailable"
    status = agent.status()
    assert status.backlog == 2 and status.last_error == "transport.unavailable"
