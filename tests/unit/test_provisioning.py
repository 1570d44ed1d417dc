"""The provisioning profile: every problem named with its path, references checked."""
import pytest

from smscd.passwords import hash_password
from smscd.provisioning import (ProfileError, Provisioning, load_profile, parse_profile,
                                read_profile_text, render_profile)
from smscd.stores.interfaces import GroupRecord, UserRecord

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


# --- version 2 ------------------------------------------------------------------------------

HASH = hash_password("pw", n=16, r=1, p=1)
V2 = {
    "version": 2,
    "groups": [{"gid": "marketing"}, {"gid": "ops", "enabled": False}],
    "users": [{"uid": "foo", "gid": "marketing", "username": "foo", "password_hash": HASH,
               "mt_credential": {"quota": {"smpps_throughput": 2}},
               "smpps_credential": {"quota": {"max_bindings": 2}}},
              {"uid": "bar", "gid": "ops", "username": "bar", "password": "userpass1"}],
    "smpp_connectors": [dict(CONNECTOR, started=True)],
    "http_connectors": [{"id": "http-01", "url": "http://127.0.0.1/mo"}],
    "filters": [{"fid": "f33", "type": "DestinationAddrFilter", "destination_addr": "^33"},
                {"fid": "ufoo", "type": "UserFilter", "uid": "foo"}],
    "mt_routes": [{"order": 10, "type": "StaticMTRoute", "filters": ["f33", "ufoo"],
                   "connector": "vendor-a", "rate": "0.05"},
                  {"type": "DefaultRoute", "connector": "vendor-a"}],
    "mo_routes": [{"order": 0, "type": "DefaultRoute", "target": "http(http-01)"},
                  {"order": 5, "type": "StaticMORoute", "filters": ["f33"],
                   "target": "smpps(foo)"}],
}


def test_a_version_2_profile_parses_whole():
    """Breaks if a section of a version-2 profile is dropped or its references not built."""
    p = parse_profile(V2)
    assert [g.gid for g in p.groups] == ["marketing", "ops"] and not p.groups[1].enabled
    foo, bar = p.users
    assert foo.password_hash == HASH and foo.password is None
    assert foo.mt_credential.quota.smpps_throughput == 2.0
    assert foo.smpps_credential.quota.max_bindings == 2
    assert bar.password == "userpass1" and "userpass1" not in repr(bar)
    assert p.counts() == {"groups": 2, "users": 2, "smpp_connectors": 1, "http_connectors": 1,
                          "filters": 2, "mt_routes": 2, "mo_routes": 2, "mt_interceptors": 0,
                          "mo_interceptors": 0}
    assert p.snapshot.smpp_connectors["vendor-a"].started is True
    assert [order for order, _ in p.snapshot.mt_routes.routes] == [10, 0]
    assert p.docs["mt_route"]["0"]["order"] == 0       # a DefaultRoute may leave it out


def test_version_2_problems_all_at_once_with_paths():
    """Breaks if a version-2 profile's problems are not all named with their path."""
    raw = {**V2, "colour": 1,
           "groups": [{"gid": "bad gid!"}, {"gid": "ops"}, {"gid": "ops"}],
           "users": [{"uid": "foo", "gid": "marketing", "username": "foo",
                      "password": "a", "password_hash": HASH},
                     {"uid": "foo", "gid": "ops", "username": "x", "password_hash": "md5$1",
                      "enabled": "yes", "mt_credential": {"quota": {"balance": "x"}}}],
           "filters": [{"fid": "f33", "type": "Nope"}, {"type": "TransparentFilter"}],
           "mo_routes": [{"order": -1, "type": "DefaultRoute"}]}
    try:
        parse_profile(raw)
    except ProfileError as e:
        problems = e.problems
    else:
        raise AssertionError("the profile was accepted")
    for expected in ("colour: unknown key", "groups[0].gid:", "groups[2].gid: 'ops' is given",
                     "users[0].password: give password or password_hash",
                     "users[0].gid: no group 'marketing'",
                     "users[1].password_hash: expected an scrypt hash",
                     "users[1].enabled: expected true or false",
                     "users[1].mt_credential.quota.balance",
                     "users[1].uid: 'foo' is given twice",
                     "filters[0].type", "filters[1].fid: required",
                     "mt_routes[0].filters[0]: no filter 'f33'",
                     "mo_routes[0].order: expected an integer >= 0"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_unknown_version_is_refused():
    with pytest.raises(ProfileError, match="version: expected 1 or 2, got 3"):
        parse_profile({"version": 3})


def test_version_1_becomes_version_2_documents():
    """Breaks if today's profiles change meaning: the default connector is the MT
    DefaultRoute, the longest MO prefix wins, the empty prefix is the MO default."""
    p = parse_profile({
        "users": [{"username": "alice", "password": "pw", "max_bindings": 3}],
        "connectors": [CONNECTOR],
        "routing": {"default_connector": "vendor-a",
                    "mo_routes": {"33": "alice", "3312": "alice", "": "alice"}}})
    assert p.groups == (GroupRecord("default"),)
    assert p.users[0].uid == "alice" and p.users[0].smpps_credential.quota.max_bindings == 3
    assert p.docs["smpp_connector"]["vendor-a"]["started"] is True
    assert p.docs["mt_route"] == {"0": {"order": 0, "type": "DefaultRoute",
                                        "connector": "vendor-a"}}
    assert sorted(p.docs["mo_route"], key=int) == ["0", "2", "3"]
    assert p.docs["mo_route"]["3"]["filters"] == ["mo-3312"]
    assert p.docs["filter"]["mo-33"]["destination_addr"] == "^33"


def test_version_1_problems_keep_their_paths():
    with pytest.raises(ProfileError, match=r"routing.mo_routes.44: no user 'eve'"):
        parse_profile({"routing": {"mo_routes": {"44": "eve"}}})


def test_render_then_parse_gives_the_same_provisioning():
    """Breaks if persist writes something load reads differently, or a clear password."""
    p = parse_profile(V2)
    users = [UserRecord(u.uid, u.username, u.password_hash or HASH, u.gid, u.enabled,
                        u.mt_credential, u.smpps_credential) for u in p.users]
    text = render_profile(p.groups, users, p.docs)
    assert "userpass1" not in text
    again = read_profile_text(text)
    assert isinstance(again, Provisioning)
    assert again.docs == p.docs and again.groups == p.groups
    assert [(u.uid, u.password_hash, u.mt_credential, u.smpps_credential)
            for u in again.users] == [(u.uid, u.password_hash, u.mt_credential,
                                       u.smpps_credential) for u in users]
    assert render_profile(again.groups, users, again.docs) == text


def test_not_yaml():
    with pytest.raises(ProfileError, match="profile: not valid YAML"):
        read_profile_text("a: [b")
