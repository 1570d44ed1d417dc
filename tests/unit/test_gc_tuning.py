"""The daemon's collector settings: a larger gen-0 threshold, startup objects frozen."""
import gc
import weakref

import pytest

from smscd import gc_tuning


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_tune_raises_only_the_gen0_threshold(restore_gc):
    """Breaks if the collector still runs every 700 allocations, or if the older
    generations' ratios change."""
    gc.set_threshold(700, 10, 10)
    gc_tuning.tune()
    assert gc.get_threshold() == (gc_tuning.GEN0_THRESHOLD, 10, 10)


def test_freeze_startup_moves_what_lives_out_of_the_collector(restore_gc):
    """Breaks if objects alive at startup would still be scanned by every collection, or
    if startup's cyclic garbage were frozen with them instead of collected."""
    class Node:
        pass
    alive, garbage = Node(), Node()
    garbage.self = garbage                        # a cycle, unreachable below
    gone = weakref.ref(garbage)
    del garbage
    assert any(o is alive for o in gc.get_objects())
    gc_tuning.freeze_startup()
    assert gone() is None
    assert not any(o is alive for o in gc.get_objects())     # frozen: never scanned
