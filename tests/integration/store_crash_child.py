"""Helper process for test_store_crash.py (not a test): opens the store at argv[1], accepts
argv[2] messages with a few outstanding at a time, and prints each message id on its own
line only after its accept Deferred fired, i.e. after the submit_sm_resp would have gone."""
import sys
import time

from twisted.internet import reactor

from smscd.ids import new_message_id
from smscd.message import Address, Message, Part
from smscd.stores.sqlite import SqliteStore

QUEUE, USER, OUTSTANDING = "mt:crash", "crash-user", 4


def main(path: str, total: int) -> None:
    store = SqliteStore.open(path, reactor)
    started = [0]

    def launch() -> None:
        if started[0] == total:
            return
        started[0] += 1
        m = Message(new_message_id(), USER, Address("SHOP"), Address(f"4477009{started[0]:05d}"),
                    (Part(b"crash test %d" % started[0]),), time.time())
        store.messages.accept(m, QUEUE).addCallback(accepted, m.id)

    def accepted(_: None, message_id: str) -> None:
        sys.stdout.write(message_id + "\n")
        sys.stdout.flush()
        launch()

    print("open", flush=True)
    for _ in range(OUTSTANDING):
        launch()
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
