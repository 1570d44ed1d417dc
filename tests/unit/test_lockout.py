"""Bind lockout: grows with failures, per key, cleared by success, bounded memory."""
from smscd.lockout import BindLockout

KEYS = ("ip:127.0.0.1", "user:alice")


def test_lock_grows_and_caps():
    """Each failure past the free ones doubles the lock, up to max_delay."""
    lock = BindLockout(free_failures=2, base_delay=1.0, max_delay=4.0)
    delays = []
    for _ in range(6):
        lock.failed(KEYS, 100.0)
        delays.append(lock.locked_for(KEYS, 100.0))
    assert delays == [0.0, 0.0, 1.0, 2.0, 4.0, 4.0]
    assert lock.locked_for(KEYS, 104.0) == 0.0


def test_one_key_locks_the_attempt():
    """A locked user is refused from a fresh address, and a locked address for any user."""
    lock = BindLockout(free_failures=0, base_delay=10.0)
    lock.failed(("user:alice",), 0.0)
    assert lock.locked_for(("ip:10.0.0.9", "user:alice"), 1.0) == 9.0
    assert lock.locked_for(("ip:10.0.0.9", "user:bob"), 1.0) == 0.0


def test_success_clears():
    """A correct bind resets the count so old failures stop counting."""
    lock = BindLockout(free_failures=1, base_delay=5.0)
    lock.failed(KEYS, 0.0)
    lock.succeeded(KEYS)
    lock.failed(KEYS, 0.0)
    assert lock.locked_for(KEYS, 0.0) == 0.0


def test_memory_is_bounded():
    """A scan from many addresses must not grow memory without bound."""
    lock = BindLockout(max_keys=100)
    for i in range(1000):
        lock.failed((f"ip:{i}",), 0.0)
    assert len(lock._failures) == 100
