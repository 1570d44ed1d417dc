# tests: tests/integration/test_admin_api.py
"""What each /admin/v1 operation does: one method per route's `operation`, over the service
API (the same calls, validation and messages as the jCli shell), the queues, billing and
the REST API keys.

Rules:
- A method takes the path values, the query values and the JSON body (a dict or None) and
  returns the JSON value to answer; refusals are the service's own errors (mapped to
  404/409/422 by errors.py) or an ApiError.
- Every mutator's Deferred is awaited: the answer means durable and live.
- What this daemon cannot do (no API key store) is 501, saying so.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from twisted.internet.defer import maybeDeferred

from smscd.rest_api.errors import ApiError
from smscd.service.api import InvalidValue, NotFound, ProvisioningApi, TableApi
from smscd.shell.stats import httpapi_items, smpps_items
from smscd.stats import Stats
from smscd.stores.billing_interface import Billing
from smscd.stores.interfaces import Queues

from . import views
from .routes import QUERIES

Path = Mapping[str, str]
Query = Mapping[str, str]
Body = Mapping[str, Any]
DEAD_LIMIT = 100
BALANCE_KEYS = ("balance", "sms_count", "currency")


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return await maybeDeferred(fn, *args)


def _int(query: Query, name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    spec = QUERIES[name]
    if not text.isdigit() or not spec.get("minimum", 0) <= int(text) <= spec.get(
            "maximum", 2 ** 62):
        raise ApiError(422, "invalid_value", f"{name}: expected an integer in "
                       f"{spec.get('minimum', 0)}..{spec.get('maximum', 2 ** 62)}", name)
    return int(text)


def _not_available(what: str) -> ApiError:
    return ApiError(501, "not_implemented", f"{what} are not available in this daemon")


class Operations:
    def __init__(self, service: ProvisioningApi, queues: Queues | None,
                 billing: Billing | None, api_keys: Any | None,
                 stats: Stats | None = None) -> None:
        self.service = service
        self.counters = stats
        self.queues = queues
        self.billing = billing
        self.api_keys = api_keys
        self.tables: dict[str, TableApi] = {
            "mt_route": service.mt_routes, "mo_route": service.mo_routes,
            "mt_interceptor": service.mt_interceptors,
            "mo_interceptor": service.mo_interceptors}

    async def run(self, operation: str, path: Path, query: Query, body: Body | None) -> Any:
        kind, _, what = operation.partition("_")
        if what in self.tables and kind in ("list", "get", "add", "update", "remove",
                                            "flush"):
            return await self._table(kind, self.tables[what], path, body)
        handler: Callable[[Path, Query, Body | None], Any] = getattr(self, operation)
        return await handler(path, query, body)

    # --- groups and users ---------------------------------------------------------------

    async def list_group(self, path: Path, query: Query, body: Body | None) -> Any:
        return [views.group(g) for g in self.service.groups.list()]

    async def get_group(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.group(self.service.groups.get(path["gid"]))

    async def add_group(self, path: Path, query: Query, body: Body | None) -> Any:
        gid = (body or {}).get("gid")
        if not isinstance(gid, str):
            raise InvalidValue("gid: required (text)", "gid")
        extra = sorted(set(body or {}) - {"gid"})
        if extra:
            raise InvalidValue(f"Unknown Group key: {extra[0]}", extra[0])
        return views.group(await _call(self.service.groups.add, gid))

    async def remove_group(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.groups.remove, path["gid"])
        return {"removed": path["gid"]}

    async def enable_group(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.groups.enable, path["gid"])
        return views.group(self.service.groups.get(path["gid"]))

    async def disable_group(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.groups.disable, path["gid"])
        return views.group(self.service.groups.get(path["gid"]))

    async def list_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return [views.user(u) for u in self.service.users.list(query.get("gid"))]

    async def get_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.user(self.service.users.get(path["uid"]))

    async def add_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.user(await _call(self.service.users.add, body or {}))

    async def update_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.user(await _call(self.service.users.update, path["uid"], body or {}))

    async def remove_user(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.users.remove, path["uid"])
        return {"removed": path["uid"]}

    async def enable_user(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.users.enable, path["uid"])
        return views.user(self.service.users.get(path["uid"]))

    async def disable_user(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.users.disable, path["uid"])
        return views.user(self.service.users.get(path["uid"]))

    async def unbind_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return {"unbound": await _call(self.service.users.smpp_unbind, path["uid"])}

    async def ban_user(self, path: Path, query: Query, body: Body | None) -> Any:
        return {"unbound": await _call(self.service.users.smpp_ban, path["uid"])}

    # --- balances and API keys ----------------------------------------------------------

    def _billing(self, uid: str) -> Billing:
        self.service.users.get(uid)
        if self.billing is None:
            raise _not_available("balances")
        return self.billing

    async def get_balance(self, path: Path, query: Query, body: Body | None) -> Any:
        billing = self._billing(path["uid"])
        return views.account(billing.account(path["uid"]), billing.currency_of(path["uid"]))

    async def set_balance(self, path: Path, query: Query, body: Body | None) -> Any:
        billing, uid, body = self._billing(path["uid"]), path["uid"], body or {}
        extra = sorted(set(body) - set(BALANCE_KEYS))
        if extra:
            raise InvalidValue(f"{extra[0]}: unknown key; known: {', '.join(BALANCE_KEYS)}",
                               extra[0])
        if "balance" in body and not isinstance(body["balance"], (str, type(None))):
            raise InvalidValue("balance: expected a decimal string or null", "balance")
        sms = body.get("sms_count")
        if "sms_count" in body and (isinstance(sms, bool) or
                                    not isinstance(sms, (int, type(None)))):
            raise InvalidValue("sms_count: expected an integer or null", "sms_count")
        if "currency" in body and not isinstance(body["currency"], (str, type(None))):
            raise InvalidValue("currency: expected a currency code or null", "currency")
        setters: dict[str, Callable[..., Any]] = {
            "balance": billing.set_balance, "sms_count": billing.set_sms_count,
            "currency": billing.set_currency}
        for key in BALANCE_KEYS:
            if key in body:
                await _call(setters[key], uid, body[key])
        return views.account(billing.account(uid), billing.currency_of(uid))

    def _keys(self, uid: str) -> Any:
        self.service.users.get(uid)
        if self.api_keys is None:
            raise _not_available("REST API keys")
        return self.api_keys

    async def list_api_key(self, path: Path, query: Query, body: Body | None) -> Any:
        infos = await _call(self._keys(path["uid"]).list, path["uid"])
        return [_key_info(i) for i in infos]

    async def add_api_key(self, path: Path, query: Query, body: Body | None) -> Any:
        keys, body = self._keys(path["uid"]), body or {}
        label = body.get("label", "")
        extra = sorted(set(body) - {"label"})
        if extra:
            raise InvalidValue(f"{extra[0]}: unknown key; known: label", extra[0])
        if not isinstance(label, str):
            raise InvalidValue("label: expected text", "label")
        new = await _call(keys.create, path["uid"], label)
        return {**_key_info(new.info), "key": new.key}

    async def remove_api_key(self, path: Path, query: Query, body: Body | None) -> Any:
        if not await _call(self._keys(path["uid"]).revoke, path["uid"], path["key_id"]):
            raise NotFound(f"Unknown API key: {path['key_id']}", "key_id")
        return {"revoked": path["key_id"]}

    # --- filters, tables, connectors ----------------------------------------------------

    async def list_filter(self, path: Path, query: Query, body: Body | None) -> Any:
        return [views.rule(r) for r in self.service.filters.list()]

    async def get_filter(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.rule(self.service.filters.get(path["fid"]))

    async def add_filter(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.rule(await _call(self.service.filters.add, body or {}))

    async def update_filter(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.rule(await _call(self.service.filters.update, path["fid"], body or {}))

    async def remove_filter(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.filters.remove, path["fid"])
        return {"removed": path["fid"]}

    async def _table(self, kind: str, table: TableApi, path: Path, body: Body | None) -> Any:
        if kind == "list":
            return [views.rule(r) for r in table.list()]
        if kind == "flush":
            return {"removed": await _call(table.flush)}
        if kind == "add":
            return views.rule(await _call(table.add, body or {}))
        order = int(path["order"])
        if kind == "get":
            return views.rule(table.get(order))
        if kind == "update":
            return views.rule(await _call(table.update, order, body or {}))
        await _call(table.remove, order)
        return {"removed": order}

    async def list_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return [views.smpp_connector(c) for c in self.service.smpp_connectors.list()]

    async def get_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.smpp_connector(self.service.smpp_connectors.get(path["cid"]))

    async def add_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.smpp_connector(await _call(self.service.smpp_connectors.add, body or {}))

    async def update_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        c = await _call(self.service.smpp_connectors.update, path["cid"], body or {})
        return views.smpp_connector(c)

    async def remove_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.smpp_connectors.remove, path["cid"])
        return {"removed": path["cid"]}

    async def start_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.smpp_connectors.start, path["cid"])
        return views.status(self.service.smpp_connectors.status(path["cid"]))

    async def stop_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.smpp_connectors.stop, path["cid"])
        return views.status(self.service.smpp_connectors.status(path["cid"]))

    async def status_smppcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.status(self.service.smpp_connectors.status(path["cid"]))

    async def list_httpcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return [views.http_connector(c) for c in self.service.http_connectors.list()]

    async def get_httpcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.http_connector(self.service.http_connectors.get(path["cid"]))

    async def add_httpcc(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.http_connector(await _call(self.service.http_connectors.add, body or {}))

    async def update_httpcc(self, path: Path, query: Query, body: Body | None) -> Any:
        c = await _call(self.service.http_connectors.update, path["cid"], body or {})
        return views.http_connector(c)

    async def remove_httpcc(self, path: Path, query: Query, body: Body | None) -> Any:
        await _call(self.service.http_connectors.remove, path["cid"])
        return {"removed": path["cid"]}

    # --- queues, stats, route tester, profile -------------------------------------------

    def _queues(self) -> Queues:
        if self.queues is None:
            raise _not_available("the dead-letter queues")
        return self.queues

    async def list_dead(self, path: Path, query: Query, body: Body | None) -> Any:
        limit, after = _int(query, "limit", DEAD_LIMIT), _int(query, "after", 0)
        dead = await _call(self._queues().dead_letters, path["queue"], limit, after)
        return [views.dead_letter(d) for d in dead]

    async def requeue_dead(self, path: Path, query: Query, body: Body | None) -> Any:
        if not path["id"].isdigit():
            raise NotFound(f"Unknown dead letter: {path['id']}", "id")
        if not await _call(self._queues().requeue_dead, int(path["id"])):
            raise NotFound(f"Unknown dead letter: {path['id']}", "id")
        return {"requeued": int(path["id"])}

    async def purge_dead(self, path: Path, query: Query, body: Body | None) -> Any:
        return {"purged": await _call(self._queues().purge_dead, path["queue"])}

    async def stats(self, path: Path, query: Query, body: Body | None) -> Any:
        statuses = self.service.smpp_connectors.statuses()
        out: dict[str, Any] = {
            "smpp_connectors": [views.status(s) for s in statuses],
            "users": len(self.service.users.list()),
            "groups": len(self.service.groups.list())}
        if self.queues is not None:
            out["queue_depths"] = {f"mt:{s.cid}": self.queues.depth(f"mt:{s.cid}")
                                   for s in statuses}
        if self.counters is not None:       # jCli `stats --smppsapi` / `--httpapi`, same words
            out["smpp_server"] = dict(smpps_items(self.counters.smpps))
            out["http_api"] = dict(httpapi_items(self.counters.httpapi))
        return out

    async def test_mt_route(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.route_test(self.service.test_mt_route(body or {}))

    async def test_mo_route(self, path: Path, query: Query, body: Body | None) -> Any:
        return views.route_test(self.service.test_mo_route(body or {}))

    async def export_profile(self, path: Path, query: Query, body: Body | None) -> Any:
        return {"profile": self.service.export_profile()}

    async def import_profile(self, path: Path, query: Query, body: Body | None) -> Any:
        text = (body or {}).get("profile")
        if not isinstance(text, str):
            raise InvalidValue("profile: required (the YAML profile as text)", "profile")
        summary = await _call(self.service.import_profile, text)
        return {"imported": dict(summary.counts)}


def _key_info(info: Any) -> dict[str, Any]:
    return {"id": info.id, "uid": info.uid, "label": info.label,
            "created_at": info.created_at, "revoked_at": info.revoked_at}
