"""The simulator's `reject` setting: destination prefixes refused with a status."""
import pytest

from connectors.sim_config import SimulatorConfig, SimulatorConfigError


def test_the_longest_matching_prefix_decides_and_others_are_accepted() -> None:
    """Breaks if a prefix is matched anywhere but at the start, or a shorter prefix wins."""
    config = SimulatorConfig(reject={"99": 0x0B, "9991": 0x45})
    assert config.rejected("9991000") == 0x45
    assert config.rejected("9900000") == 0x0B
    assert config.rejected("3399000") == 0


def test_a_bad_prefix_or_status_is_named() -> None:
    """Breaks if a prefix that is not digits, or status 0 (that is ESME_ROK), is let in."""
    with pytest.raises(SimulatorConfigError) as info:
        SimulatorConfig(reject={"+33": 0x0B, "44": 0})
    assert info.value.problems == [
        "reject.+33: a prefix of digits and a status 1..0xFFFFFFFF",
        "reject.44: a prefix of digits and a status 1..0xFFFFFFFF"]
