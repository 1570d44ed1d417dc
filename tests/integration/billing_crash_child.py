"""Helper process for test_billing_store.py (not a test): opens the store at argv[1], gives
"payer" a balance and an sms_count, then submits one-part messages at 0.01 a few at a time
the way the MT pipeline does (reserve, accept with the hold), captures or releases each
accepted part as a connector would, and prints each message id only once its accept fired
(the customer would have its submit_sm_resp). Runs until killed."""
import sys
import time
from decimal import Decimal

from twisted.internet import reactor

from smscd.ids import new_message_id
from smscd.message import Address, Message, Part
from smscd.stores.billing_interface import Reservation
from smscd.stores.sqlite import SqliteStore

QUEUE, USER, OUTSTANDING, RATE = "mt:crash", "payer", 4, Decimal("0.01")


def main(path: str) -> None:
    store = SqliteStore.open(path, reactor)
    sent = [0]

    def launch() -> None:
        sent[0] += 1
        m = Message(new_message_id(), USER, Address("SHOP"), Address(f"4477009{sent[0]:05d}"),
                    (Part(b"crash test %d" % sent[0]),), time.time())
        r = store.billing.reserve(USER, m.id, RATE, 1, 50, "1", "crash", "smpp")
        assert isinstance(r, Reservation), r
        store.messages.accept(m, QUEUE, also=r.rows).addCallback(accepted, m.id, sent[0])

    def accepted(_: None, message_id: str, n: int) -> None:
        if n % 3 == 0:
            store.billing.part_failed(message_id, 0)
        elif n % 3 == 1:
            store.billing.part_accepted(message_id, 0)
        sys.stdout.write(message_id + "\n")
        sys.stdout.flush()
        launch()

    def funded(_: object) -> None:
        print("open", flush=True)
        for _ in range(OUTSTANDING):
            launch()

    store.billing.set_balance(USER, "1000").addCallback(
        lambda _: store.billing.set_sms_count(USER, 1_000_000)).addCallback(funded)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1])
