# tests: tests/integration/test_webhooks.py
"""/v1/webhooks: a user's endpoints and dead deliveries, over the Webhooks service.

Rules: scoped to the caller (another user's endpoint or dead letter is 404); a bad URL
or event is 422 naming the field; the secret is only in the answer to the creation.
"""
from __future__ import annotations

from smscd.stores.interfaces import UserRecord
from smscd.webhooks import Endpoint, Webhooks

from . import models as M
from .errors import ApiError


def _view(e: Endpoint, secret: bool = False) -> M.WebhookView:
    return M.WebhookView(id=e.id, url=e.url, events=list(e.events), created_at=e.created_at,
                         secret=e.secret if secret else None)


class WebhookApi:
    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks

    async def webhooks_(self, user: UserRecord) -> M.WebhookList:
        return M.WebhookList(data=[_view(e) for e in self.webhooks.list(user.uid)])

    async def add(self, user: UserRecord, req: M.WebhookCreate) -> M.WebhookView:
        try:
            endpoint = await self.webhooks.add(user.uid, req.url, list(req.events))
        except ValueError as e:
            field = str(e).partition(": ")[0]
            raise ApiError(422, "invalid_request", str(e), field) from None
        return _view(endpoint, secret=True)

    async def remove(self, user: UserRecord, endpoint_id: str) -> M.Deleted:
        if not await self.webhooks.remove(user.uid, endpoint_id):
            raise ApiError(404, "not_found", f"No webhook endpoint {endpoint_id!r}.", "id")
        return M.Deleted(id=endpoint_id, deleted=True)

    async def dead_letters(self, user: UserRecord) -> M.DeadLetterList:
        dead = await self.webhooks.dead_letters(user.uid)
        return M.DeadLetterList(data=[M.DeadLetterView(
            id=d.id, key=d.key, attempts=d.attempts, reason=d.reason, dead_at=d.dead_at)
            for d in dead])

    async def replay(self, user: UserRecord, dead_id: str) -> M.Replayed:
        if not dead_id.isdigit() or not await self.webhooks.replay(user.uid, int(dead_id)):
            raise ApiError(404, "not_found", f"No dead webhook delivery {dead_id!r}.", "id")
        return M.Replayed(id=int(dead_id), replayed=True)
