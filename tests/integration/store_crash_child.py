"""Helper process for test_store_crash.py (not a test): opens the store at argv[1], accepts
argv[2] messages with a few outstanding at a time, `accept` one by one or (argv[3] "many")
`accept_many` in batches of BATCH, and prints each message id on its own line only after
its Deferred fired, i.e. after the submit_sm_resp (or the HTTP answer) would have gone."""
import sys
import time

from twisted.internet import reactor

from smscd.ids import new_message_id
from smscd.message import Address, Message, Part
from smscd.stores.interfaces import Acceptance
from smscd.stores.sqlite import SqliteStore

QUEUE, USER, OUTSTANDING, BATCH = "mt:crash", "crash-user", 4, 5


def main(path: str, total: int, mode: str) -> None:
    store = SqliteStore.open(path, reactor)
    started = [0]

    def new_message() -> Message:
        started[0] += 1
        return Message(new_message_id(), USER, Address("SHOP"),
                       Address(f"4477009{started[0]:05d}"),
                       (Part(b"crash test %d" % started[0]),), time.time())

    def launch() -> None:
        if started[0] == total:
            return
        if mode == "many":
            ms = [new_message() for _ in range(min(BATCH, total - started[0]))]
            store.messages.accept_many([Acceptance(m, QUEUE) for m in ms]).addCallback(
                accepted, [m.id for m in ms])
        else:
            m = new_message()
            store.messages.accept(m, QUEUE).addCallback(accepted, [m.id])

    def accepted(_: None, message_ids: list[str]) -> None:
        sys.stdout.write("".join(i + "\n" for i in message_ids))
        sys.stdout.flush()
        launch()

    print("open", flush=True)
    for _ in range(OUTSTANDING):
        launch()
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
