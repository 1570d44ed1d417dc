# tests: tests/unit/test_shell_modules.py
"""`queue` (new in smscd): the dead letters of the running daemon, listed and put back.

Queue names: `mt:<connector>`, `deliver:<user>`, `mo:unrouted`. Reads and requeues go to
the daemon's `Queues` (smscd.stores.interfaces) through the Context, and so does a purge
(`purge_dead(queue)`: the queue's dead letters are gone for good, durably).
"""
from __future__ import annotations

from typing import Any

from smscd.dead_letters import describe

from .grammar import Action, Command, Context, Opt
from .reply import Reply, call, say

LIST_LIMIT = 1000


def _needs_queues(action: Action) -> Action:
    def guarded(ctx: Context, value: Any, arg: str) -> Reply:
        if ctx.queues is None:
            return say("Error: the dead-letter queues are not available in this shell")
        return action(ctx, value, arg)
    return guarded


def _list(ctx: Context, queue: str, arg: str) -> Reply:
    def listed(dead: list[Any]) -> Reply:
        return say(*(describe(d) for d in dead), f"{len(dead)} dead letter(s) in {queue}")

    return call(lambda: ctx.queues.dead_letters(queue, LIST_LIMIT), None, listed,
                lambda e: say(f"Error: {e}"))


def _requeue(ctx: Context, ids: str, arg: str) -> Reply:
    wanted = [i for i in ids.replace(",", " ").split() + arg.split() if i]
    if not wanted or not all(i.isdigit() for i in wanted):
        return say("Error: requeue expects dead letter ids (numbers from queue -l)")
    numbers = [int(i) for i in wanted]

    def done(found: list[bool]) -> Reply:
        return say(*(f"{n}: requeued" if ok else f"{n}: no such dead letter"
                     for n, ok in zip(numbers, found)))

    return call(lambda: _requeue_each(ctx.queues, numbers),
                f"queue --requeue={','.join(map(str, numbers))}", done,
                lambda e: say(f"Error: {e}"))


def _requeue_each(queues: Any, numbers: list[int]) -> Any:
    """Requeue the ids one after the other: the list of found flags (in a Deferred when the
    queues answer with Deferreds)."""
    found: list[bool] = []

    def record(ok: object) -> Any:
        found.append(bool(ok))
        return step()

    def step() -> Any:
        while len(found) < len(numbers):
            result = queues.requeue_dead(numbers[len(found)])
            if hasattr(result, "addCallback"):
                return result.addCallback(record)
            found.append(bool(result))
        return found

    return step()


def _purge(ctx: Context, queue: str, arg: str) -> Reply:
    return call(lambda: ctx.queues.purge_dead(queue), f"queue --purge={queue}",
                lambda n: say(f"Successfully purged {n} dead letter(s) from {queue}"),
                lambda e: say(f"Error: {e}"))


COMMAND = Command("queue", "Dead-letter queue management", (
    Opt("-l", "--list", "List the dead letters of QUEUE (mt:<cid>, deliver:<uid>, "
        "mo:unrouted)", _needs_queues(_list), "QUEUE"),
    Opt("-q", "--requeue", "Put dead letters back in their queue, by ID (comma list)",
        _needs_queues(_requeue), "ID"),
    Opt("-p", "--purge", "Drop every dead letter of QUEUE", _needs_queues(_purge), "QUEUE"),
))
