# tests: tests/integration/test_http_callbacks.py
"""Outbound HTTP: receipt callbacks to a message's dlr-url, and MO to HTTP connectors.

Modules: calls.py (a call as data, the ACK/Jasmin contract), dlr_calls.py (which receipt
callbacks, with Jasmin's parameters), dlr.py (the hooks the dispatcher and connectors
call), sender.py (the durable queue `http:dlr` to the receivers, with retries and dead
letters), mo.py (MO to an HTTP connector, one try), client.py (pooled Agent, timeouts).
"""
