# tests: tests/integration/test_shell_telnet.py
"""Wiring for the daemon: the shell's factory and its listener, from the `shell` settings.

The daemon calls, after the service is up:
    port = await start_shell(reactor, service, config, queues=store.queues,
                             billing=store.billing, api_keys=store.api_keys)
and prints `ensure_operator(config.data_dir)`'s password when it returns one. A new local
token for `smscd shell` is written at every start.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

from smscd.config import Config

from .audit import AUDIT_FILE, AuditLog
from .commands import COMMANDS
from .operators import Operators
from .profiles import ProfileFiles
from .transport import ShellFactory

PROFILES_DIR = "profiles"


def shell_factory(service: Any, operators: Operators, data_dir: Path, reactor: Any,
                  authentication: bool = True, queues: Any = None,
                  billing: Any = None, api_keys: Any = None,
                  stats: Any = None) -> ShellFactory:
    """The telnet factory over `service` (smscd.service.api.ProvisioningApi)."""
    return ShellFactory(COMMANDS, service, AuditLog(Path(data_dir) / AUDIT_FILE), reactor,
                        authentication=authentication, operators=operators, queues=queues,
                        profiles=ProfileFiles(Path(data_dir) / PROFILES_DIR),
                        billing=billing, api_keys=api_keys, stats=stats)


async def start_shell(reactor: Any, service: Any, config: Config, queues: Any = None,
                      billing: Any = None, api_keys: Any = None, stats: Any = None) -> Any:
    """Listen on `config.shell`; the listening port (`.getHost().port`, `.stopListening()`)."""
    operators = Operators(config.data_dir)
    operators.new_local_token()
    factory = shell_factory(service, operators, config.data_dir, reactor,
                            config.shell.authentication, queues, billing, api_keys, stats)
    host = config.shell.host
    endpoint_class = TCP6ServerEndpoint if ":" in host else TCP4ServerEndpoint
    return await endpoint_class(reactor, config.shell.port, interface=host).listen(factory)
