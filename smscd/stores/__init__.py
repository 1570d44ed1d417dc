"""Durable storage behind small interfaces; see README.md and interfaces.py."""
from smscd.stores.interfaces import (Correlations, DeadLetter, MessageLog, MessageRecord,
                                     PartRecord, QueueEntry, Queues, StoreError, UserExists,
                                     UserRecord, Users)

__all__ = ["Correlations", "DeadLetter", "MessageLog", "MessageRecord", "PartRecord",
           "QueueEntry", "Queues", "StoreError", "UserExists", "UserRecord", "Users"]
