"""The provisioning profile: every problem named with its path, references checked."""
import pytest

from smscd.provisioning import ProfileError, load_profile

CONNECTOR = {"id": "vendor-a", "hosts": ["127.0.0.1:2776"], "system_id": "acct",
             "password": "secret"}


def test_a_valid_profile_loads():
    """A profile with users, a connector and routes must come back typed."""
    profile = load_profile({
        "version": 1,
        "users": [{"username": "alice", "password": "pw", "throughput": 50}],
        "connectors": [CONNECTOR],
        "routing": {"default_connector": "vendor-a", "mo_routes": {"3312": "alice"}},
    })
    assert profile.users[0].username == "alice" and profile.users[0].throughput == 50.0
    assert profile.connectors[0].hosts == (("127.0.0.1", 2776),)
    assert profile.default_connector == "vendor-a" and profile.mo_routes == {"3312": "alice"}


def test_every_problem_is_reported_with_its_path():
    """An operator must see all mistakes at once, each naming where it is."""
    with pytest.raises(ProfileError) as caught:
        load_profile({
            "version": 2, "colour": "blue",
            "users": [{"username": "bad name!", "password": "much too long"},
                      {"username": "bob", "password": "pw", "max_bindings": 0}],
            "connectors": [dict(CONNECTOR, window="ten"), CONNECTOR, CONNECTOR],
            "routing": {"default_connector": "nope", "mo_routes": {"33x": "bob", "44": "eve"}},
        })
    problems = caught.value.problems
    for expected in ("colour: unknown key", "version: expected 1",
                     "users[0].username", "users[0].password: 1 to 8",
                     "users[1].max_bindings", "connectors[0].window",
                     "connectors[2].id: 'vendor-a' is given twice",
                     "routing.default_connector: no connector 'nope'",
                     "routing.mo_routes.33x", "routing.mo_routes.44: no user 'eve'"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_routes_may_name_users_already_in_the_store():
    """A route to a user created earlier (e.g. the demo user) is not a dangling reference."""
    profile = load_profile({"routing": {"mo_routes": {"": "demo"}}}, known_users=("demo",))
    assert profile.mo_routes == {"": "demo"}



def test_the_shipped_example_profile_loads():
    """The example a newcomer copies must itself be valid."""
    from pathlib import Path

    from smscd.provisioning import load_profile_file
    example = Path(__file__).parents[2] / "conf" / "provisioning.example.yaml"
    profile = load_profile_file(str(example))
    assert profile.default_connector == "vendor-a" and profile.mo_routes == {"12345": "alice"}
