"""Shared by the restart tests (test_mo_durable, test_receipt_race): what a restart
rebuilds, the store, the dispatcher and the connector bound to a TinySmsc that outlives it.
A subclass sets `routes` (MO prefix -> customer) and adds what it reads back."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar, Self

from connectors.smpp_client import ConnectorService
from customer_side import prefix_router
from smscd.dispatch import Dispatcher
from smscd.stores.sqlite import SqliteStore
from test_connector import TinySmsc, connector_config, reactor


class ConnectorDaemon:
    routes: ClassVar[dict[str, str]] = {}

    def __init__(self, path: Path, smsc: TinySmsc, **overrides: Any) -> None:
        self.path, self.smsc, self.overrides = path, smsc, overrides

    async def start(self) -> Self:
        self.store = SqliteStore.open(self.path, reactor())
        self.dispatcher = Dispatcher(self.store.messages, self.store.queues, reactor(),
                                     prefix_router(self.routes))
        cfg = connector_config(self.smsc.port_obj.getHost().port, **self.overrides)
        self.connector = ConnectorService(cfg, reactor(), self.store.queues,
                                          self.store.messages, self.store.correlations,
                                          self.dispatcher, rng=random.Random(7),
                                          mo_parts=self.store.mo_parts)
        self.connector.start()
        await self.connector.until(lambda c: c.status()["bound"] == 1)
        return self

    async def restart(self) -> Self:
        await self.stop()
        return await self.start()

    async def stop(self) -> None:
        await self.connector.stop()
        await self.store.close()
