"""Transcripts of every jCli module (reference §7.2-§7.10) against the pure interpreter
with an in-memory service; each test names the behaviour a runbook relies on."""
from __future__ import annotations

from pathlib import Path

import pytest

from shell_fake import FakeBilling, FakeService, new_session, run, transcript
from smscd.shell.interceptor import parse_actions
from smscd.shell.profiles import ProfileFiles


@pytest.fixture
def shell():
    return new_session(FakeService(), billing=FakeBilling())


def lines(text: str) -> list[str]:
    return text.strip("\n").splitlines()


def script(text: str) -> list[str]:
    """Input lines of a transcript: what follows each prompt."""
    return [ln.split(" : ", 1)[1] if ln.startswith("jcli : ") else ln[2:]
            for ln in lines(text) if ln.startswith(("jcli : ", "> ")) or ln == ">"]


def check(session, text: str) -> None:
    """The session shows exactly `text` (prompts, input and answers)."""
    assert transcript(session, script(text)) == lines(text)


# --- group (§7.3) ------------------------------------------------------------------------------

def test_group_add_list_disable_enable_remove(shell):
    check(shell, """
jcli : group -a
Adding a new Group: (ok: save, ko: exit)
> ok
You must set Group id (gid) before saving !
> gid marketing
> ok
Successfully added Group [marketing]
jcli : group -l
#Group id        
#marketing       
Total Groups: 1
jcli : group -d marketing
Successfully disabled Group id:marketing
jcli : group -l
#Group id        
#!marketing      
Total Groups: 1
jcli : group -e marketing
Successfully enabled Group id:marketing
jcli : group -r marketing
Successfully removed Group id:marketing
jcli : group -r marketing
Unknown Group: marketing
""")


# --- user (§7.4) -------------------------------------------------------------------------------

def add_user(shell) -> None:
    transcript(shell, ["group -a", "gid marketing", "ok"])
    transcript(shell, script("""
jcli : user -a
> username foo
> password bar
> gid marketing
> uid foo
> mt_messaging_cred valuefilter src_addr ^JASMIN$
> mt_messaging_cred quota balance 44.2
> mt_messaging_cred quota sms_count none
> mt_messaging_cred quota smpps_throughput 2
> smpps_cred authorization bind yes
> smpps_cred quota max_bindings 2
> ok
"""))


def test_user_add_and_list_as_jcli(shell):
    transcript(shell, ["group -a", "gid marketing", "ok"])
    check(shell, """
jcli : user -a
Adding a new User: (ok: save, ko: exit)
> username foo
> password bar
> ok
You must set User id (uid), group (gid), username and password before saving !
> gid nope
Unknown Group gid:nope, you must first create the Group
> gid marketing
> uid foo
> mt_messaging_cred valuefilter src_addr ^JASMIN$
> mt_messaging_cred quota balance 44.2
> mt_messaging_cred quota sms_count none
> mt_messaging_cred quota smpps_throughput 2
> smpps_cred authorization bind yes
> smpps_cred quota max_bindings 2
> ok
Successfully added User [foo] to Group [marketing]
jcli : user -l
#User id          Group id         Username         Balance MT SMS Throughput
#foo              marketing        foo              44.2    ND     ND/2.0  
Total Users: 1
jcli : user -l marketing
#User id          Group id         Username         Balance MT SMS Throughput
#foo              marketing        foo              44.2    ND     ND/2.0  
Total Users in group [marketing]: 1
""")


def test_adding_again_replaces_as_jasmin_does(shell):
    add_user(shell)
    assert transcript(shell, ["group -a", "gid marketing", "ok"])[-1] == \
        "Successfully added Group [marketing]"
    out = transcript(shell, ["user -a", "uid foo", "gid marketing", "username foo",
                             "password other", "ok"])
    assert out[-1] == "Successfully added User [foo] to Group [marketing]"
    assert shell.ctx.service.users.get("foo").password_hash == "hash:other"
    assert len(shell.ctx.service.users.list()) == 1


def test_user_show_order_and_no_password(shell):
    add_user(shell)
    out = run(shell, "user -s foo")
    assert out[:4] == ["uid foo", "gid marketing", "username foo",
                       "mt_messaging_cred authorization http_send True"]
    assert "mt_messaging_cred valuefilter src_addr ^JASMIN$" in out
    quota = [ln for ln in out if ln.startswith("mt_messaging_cred quota")]
    assert quota == ["mt_messaging_cred quota balance 44.2",
                     "mt_messaging_cred quota early_percent ND",
                     "mt_messaging_cred quota sms_count ND",
                     "mt_messaging_cred quota http_throughput ND",
                     "mt_messaging_cred quota smpps_throughput 2.0"]
    assert out[-3:] == ["smpps_cred authorization bind True",
                        "smpps_cred authorization ip 0.0.0.0/0,::/0",
                        "smpps_cred quota max_bindings 2"]
    assert not any("bar" in ln for ln in out)


def test_user_credential_errors(shell):
    transcript(shell, ["user -a"])
    check(shell, """
> mt_messaging_cred quota
Error: expected syntax: mt_messaging_cred section key value
> mt_messaging_cred foo bar baz
Error: invalid section name: foo, possible values: Authorization, ValueFilter, DefaultValue, Quota
> smpps_cred quota nope 1
Error: invalid key: nope, possible keys: max_bindings
> mt_messaging_cred quota balance -1
Error: mt_messaging_cred quota balance: a quota cannot be negative (got '-1')
> color blue
Unknown User key: color
""")


def test_billing_quotas_need_billing():
    s = new_session(FakeService())
    transcript(s, ["user -a"])
    assert run(s, "mt_messaging_cred quota balance 10") == [
        "Error: balance is kept by billing, which this shell cannot reach"]


def test_user_update_delta_and_refused_keys(shell):
    add_user(shell)
    check(shell, """
jcli : user -u foo
Updating User id [foo]: (ok: save, ko: exit)
> ok
Nothing to save
> uid bar
User id can not be modified !
> username bar
User username can not be modified !
> mt_messaging_cred quota balance +10
> password newpass
> ok
Successfully updated User [foo]
""")
    assert run(shell, "user -l")[1].split()[3] == "54.2"
    assert shell.ctx.service.users.get("foo").password_hash == "hash:newpass"


def test_user_enable_disable_unbind_ban_remove(shell):
    add_user(shell)
    check(shell, """
jcli : user -d foo
Successfully disabled User id:foo
jcli : user -e foo
Successfully enabled User id:foo
jcli : user --smpp-unbind=foo
Successfully unbound User id:foo
jcli : user --smpp-ban=foo
Successfully unbound and banned User id:foo
jcli : user -r foo
Successfully removed User id:foo
jcli : user -r foo
Unknown User: foo
""")


def test_disabled_user_and_unlimited_quotas_in_listing(shell):
    transcript(shell, ["group -a", "gid g", "ok", "user -a", "uid u1", "gid g",
                       "username u1", "password p", "ok", "user -d u1"])
    assert run(shell, "user -l")[1] == row6("!u1", "g", "u1", "ND (!)", "ND (!)", "ND/ND")


def row6(*cells: str) -> str:
    widths = [16, 16, 16, 7, 6, 8]
    return "#" + " ".join(c.ljust(w) for c, w in zip(cells, widths))


def test_user_api_keys_are_refused_cleanly_without_the_rest_api(shell):
    add_user(shell)
    assert run(shell, "user --api-key=foo create") == [
        "Error: REST API keys are not available in this shell"]


class FakeApiKeys:
    def __init__(self):
        self.keys = {}

    def create(self, uid, label=""):
        from types import SimpleNamespace

        from twisted.internet.defer import succeed
        info = SimpleNamespace(id=f"k{len(self.keys)}", uid=uid, label=label, created_at=0.0,
                               revoked_at=None)
        self.keys[info.id] = info
        return succeed(SimpleNamespace(info=info, key=f"sk_{info.id}_secret"))

    def list(self, uid):
        from twisted.internet.defer import succeed
        return succeed([k for k in self.keys.values() if k.uid == uid])

    def revoke(self, uid, key_id):
        from twisted.internet.defer import succeed
        key = self.keys.get(key_id)
        if key is None or key.revoked_at is not None:
            return succeed(False)
        key.revoked_at = 60.0
        return succeed(True)


def test_user_api_keys_create_list_revoke():
    s = new_session(FakeService(), api_keys=FakeApiKeys())
    add_user(s)
    check(s, """
jcli : user --api-key=foo create billing
Created API key k0 for User id:foo: sk_k0_secret
(shown once; only its hash is kept)
jcli : user --api-key=foo revoke k0
Successfully revoked API key k0 of User id:foo
jcli : user --api-key=foo revoke k0
Unknown API key: k0
jcli : user --api-key=foo
#k0 billing created 1970-01-01 00:00:00 revoked 1970-01-01 00:01:00
Total API keys: 1
jcli : user --api-key=nobody list
Unknown User: nobody
jcli : user --api-key=foo rotate
Error: expected syntax: user --api-key=UID [list | create [LABEL] | revoke KEY_ID]
""")
    reply = s.step("user --api-key=foo create")
    assert "secret" not in reply.call.audit


# --- smppccm (§7.5) ----------------------------------------------------------------------------

def test_smppccm_add_list_start_stop_update_remove(shell):
    check(shell, """
jcli : smppccm -a
Adding a new connector: (ok: save, ko: exit)
> host 10.0.0.1
> ok
You must set at least connector id (cid) before saving !
> cid Demo
> port 27x5
Error: port must be an integer
> port 2775
> username smppclient1
> password password
> bind transceiver
> submit_throughput 110
> loglevel 20
loglevel is not used by smscd, ignoring its value.
> dlr_msgid 7
Error: Unknown value for key dlr_msgid: 7
> ok
Successfully added connector [Demo]
jcli : smppccm -l
#Connector id                        Service Session          Starts Stops
#Demo                                stopped NONE             0      0    
Total connectors: 1
jcli : smppccm -1 Demo
Successfully started connector id:Demo
jcli : smppccm -l
#Connector id                        Service Session          Starts Stops
#Demo                                started BOUND_TRX        1      0    
Total connectors: 1
jcli : smppccm -1 Demo
Failed starting connector, check log for details
jcli : smppccm -0 Demo
Successfully stopped connector id:Demo
jcli : smppccm -0 Demo
Failed stopping connector, check log for details
jcli : smppccm -u Demo
Updating connector id [Demo]: (ok: save, ko: exit)
> cid Other
Connector id can not be modified !
> host 10.10.1.2
> ok
Successfully updated connector [Demo]
jcli : smppccm -r Demo
Successfully removed connector id:Demo
jcli : smppccm -s Demo
Unknown connector: Demo
""")


def test_smppccm_show_translates_to_jcli_keys(shell):
    transcript(shell, ["smppccm -a", "cid Demo", "host 10.0.0.1", "port 2780",
                       "username u1", "password pw", "dlr_msgid 2", "window 50", "ok"])
    out = run(shell, "smppccm -s Demo")
    assert out[:5] == ["cid Demo", "host 10.0.0.1", "port 2780", "username u1", "password pw"]
    assert "dlr_msgid 2" in out and "window 50" in out and "bind transceiver" in out


def test_smppccm_refuses_ssl_and_reports_service_validation(shell):
    assert run(shell, "smppccm -a")[0] == "Adding a new connector: (ok: save, ko: exit)"
    assert run(shell, "ssl yes") == ["Error: ssl is not supported by smscd connectors yet"]
    assert run(shell, "ssl no") == []
    assert run(shell, "cid Demo") == [] and run(shell, "bind_ton 9") == []
    out = run(shell, "ok")
    assert out[0].startswith("Error: bind_ton: one of") and shell.prompt == "> "


def test_smppccm_status(shell):
    transcript(shell, ["smppccm -a", "cid Demo", "ok", "smppccm -1 Demo"])
    assert run(shell, "smppccm --status") == [
        "#Connector id              Service  Session          Binds Window Throughput Queue "
        " Last error",
        "#Demo                      started  BOUND_TRX        1     0      0.0/s      0      -",
        "Total connectors: 1"]
    assert run(shell, "smppccm --status nope") == ["Unknown connector: nope"]


# --- httpccm (§7.6) ----------------------------------------------------------------------------

def test_httpccm_add_list_show_update_remove(shell):
    check(shell, """
jcli : httpccm -a
Adding a new Httpcc: (ok: save, ko: exit)
> url http://10.10.20.125/receive-sms/mo.php
> ok
You must set these options before saving: cid, url, method
> method GET
> cid HTTP-01
> foo bar
Unknown Httpcc key: foo
> ok
Successfully added Httpcc [HttpConnector] with cid:HTTP-01
jcli : httpccm -l
#Httpcc id        Type                   Method URL
#HTTP-01          HttpConnector          GET    http://10.10.20.125/receive-sms/mo.php
Total Httpccs: 1
jcli : httpccm -s HTTP-01
HttpConnector:
cid = HTTP-01
baseurl = http://10.10.20.125/receive-sms/mo.php
method = GET
jcli : httpccm -u HTTP-01
Updating Httpcc id [HTTP-01]: (ok: save, ko: exit)
> method post
> ok
Successfully updated Httpcc id:HTTP-01
jcli : httpccm -r HTTP-01
Successfully removed Httpcc id:HTTP-01
jcli : httpccm -r HTTP-01
Unknown Httpcc: HTTP-01
""")


# --- filter (§7.7) -----------------------------------------------------------------------------

def test_filter_add_list_show_remove(shell):
    check(shell, r"""
jcli : filter -a
Adding a new Filter: (ok: save, ko: exit)
> type sourceaddrfilter
<class 'jasmin.routing.Filters.SourceAddrFilter'> arguments:
source_addr
> source_addr ^20\d+
> ok
You must set these options before saving: type, fid, source_addr
> fid From20
> ok
Successfully added Filter [SourceAddrFilter] with fid:From20
jcli : filter -l
#Filter id        Type                   Routes Description
#From20           SourceAddrFilter       MO MT  <SA (src_addr=^20\d+)>
Total Filters: 1
jcli : filter -s From20
SourceAddrFilter:
source_addr = ^20\d+
jcli : filter -r From20
Successfully removed Filter id:From20
jcli : filter -s From20
Unknown Filter: From20
""")


def test_filter_key_errors(shell):
    check(shell, """
jcli : filter -a
Adding a new Filter: (ok: save, ko: exit)
> type nope
Unknown Filter type: "nope", available types: TransparentFilter, UserFilter, GroupFilter, ConnectorFilter, SourceAddrFilter, DestinationAddrFilter, ShortMessageFilter, DateIntervalFilter, TimeIntervalFilter, EvalPyFilter, TagFilter, PriorityFilter, DataCodingFilter, AnyOfFilter, NotFilter
> type DateIntervalFilter
<class 'jasmin.routing.Filters.DateIntervalFilter'> arguments:
dateInterval
> dateInterval 2014-09-01
dateInterval option value must be composed of 2 values with a ";" separator.
> dateInterval 2014-09-01;x
2014-09-01;x is not a valid dateInterval value
> dateInterval 2014-09-30;2014-09-01
Right border must be greater than left border
> source_addr 1
Unknown Filter key: source_addr
> fid bad fid
Invalid Filter fid syntax: bad fid
> ko
jcli : filter -a
Adding a new Filter: (ok: save, ko: exit)
> type SourceAddrFilter
<class 'jasmin.routing.Filters.SourceAddrFilter'> arguments:
source_addr
> source_addr [
source_addr option is not a valid regular expression
> type EvalPyFilter
Error: smscd does not run filter code; use PriorityFilter, DataCodingFilter, AnyOfFilter, NotFilter or a regex filter instead
""")


def test_filter_show_of_intervals_and_tag_and_update(shell):
    transcript(shell, ["filter -a", "type DateIntervalFilter", "fid D1",
                       "dateInterval 2014-09-01;2014-09-30", "ok",
                       "filter -a", "type TagFilter", "fid TG", "tag 21401", "ok",
                       "filter -a", "type TransparentFilter", "fid T", "ok"])
    assert run(shell, "filter -s D1") == ["DateIntervalFilter:", "Left border = 2014-09-01",
                                          "Right border = 2014-09-30"]
    assert run(shell, "filter -s TG") == ["TagFilter:", "has tag = 21401"]
    assert run(shell, "filter -s T") == ["TransparentFilter"]
    assert transcript(shell, ["filter -u TG", "fid x", "tag 7", "ok"]) == [
        "jcli : filter -u TG", "Updating Filter id [TG]: (ok: save, ko: exit)",
        "> fid x", "Filter fid can not be modified !", "> tag 7", "> ok",
        "Successfully updated Filter id:TG"]
    assert run(shell, "filter -s TG") == ["TagFilter:", "has tag = 7"]


# --- mtrouter / morouter (§7.8) ----------------------------------------------------------------

def routed(shell) -> None:
    transcript(shell, ["smppccm -a", "cid smppcc_1", "ok",
                       "filter -a", "type TransparentFilter", "fid filter_1", "ok",
                       "filter -a", "type TransparentFilter", "fid filter_2", "ok"])


def test_mtrouter_add_list_show_remove_flush(shell):
    routed(shell)
    check(shell, """
jcli : mtrouter -a
Adding a new MT Route: (ok: save, ko: exit)
> type StaticMTRoute
<class 'jasmin.routing.Routes.StaticMTRoute'> arguments:
filters, connector, rate
> filters filter_1;filter_2
> order 10
> connector smppc(smppcc_1)
> rate 0.0
> ok
Successfully added MTRoute [StaticMTRoute] with order:10
jcli : mtrouter -a
Adding a new MT Route: (ok: save, ko: exit)
> type DefaultRoute
<class 'jasmin.routing.Routes.DefaultRoute'> arguments:
connector, rate
> order 3
Route order forced to 0 since it is a DefaultRoute
> connector smppc(smppcc_1)
> rate 0
> ok
Successfully added MTRoute [DefaultRoute] with order:0
jcli : mtrouter -l
#Order Type                    Rate       Connector ID(s)                                  Filter(s)
#10    StaticMTRoute           0 (!)      smppc(smppcc_1)                                  <T>, <T>
#0     DefaultRoute            0 (!)      smppc(smppcc_1)
Total MT Routes: 2
jcli : mtrouter -s 10
StaticMTRoute to smppc(smppcc_1) NOT RATED
jcli : mtrouter -r 10
Successfully removed MT Route with order:10
jcli : mtrouter -s 10
Unknown MT Route: 10
jcli : mtrouter -r x
MT Route order must be a positive integer
jcli : mtrouter -f
Successfully flushed MT Route table (1 flushed entries)
""")


def test_mtrouter_key_errors(shell):
    routed(shell)
    check(shell, """
jcli : mtrouter -a
Adding a new MT Route: (ok: save, ko: exit)
> type Nope
Unknown MT Route type:Nope, available types: DefaultRoute, StaticMTRoute, RandomRoundrobinMTRoute, FailoverMTRoute
> ok
You must set these options before saving: order, type
> type RandomRoundrobinMTRoute
<class 'jasmin.routing.Routes.RandomRoundrobinMTRoute'> arguments:
filters, connectors, rate
> order 0
This route order (0) is reserved for DefaultRoute only
> order -1
Route order must be a positive integer
> connectors smppc(smppcc_1)
connectors option value must contain a minimum of 2 connector IDs separated with ";".
> connectors smppc(smppcc_1);smppcc_2
Invalid syntax for connector id, must be smppc(some_id).
> connectors smppc(smppcc_1);smppc(nope)
Unknown smppc cid: nope
> filters nope
Unknown fid: nope
> rate free
Incorrect rate (must be float): free
> connector smppc(smppcc_1)
Unknown Route key: connector
> ok
You must set these options before saving: order, type, filters, connectors, rate
""")


def test_mtrouter_update_in_place(shell):
    routed(shell)
    transcript(shell, ["mtrouter -a", "type StaticMTRoute", "filters filter_1", "order 10",
                       "connector smppc(smppcc_1)", "rate 0", "ok"])
    check(shell, """
jcli : mtrouter -u 10
Updating MT Route order [10]: (ok: save, ko: exit)
> order 11
MT Route order can not be modified !
> rate 0.05
> ok
Successfully updated MTRoute with order:10
jcli : mtrouter -s 10
StaticMTRoute to smppc(smppcc_1) rated 0.05
""")


def test_morouter_connector_syntax_and_listing(shell):
    routed(shell)
    transcript(shell, ["httpccm -a", "cid HTTP-01", "url http://127.0.0.1/mo", "method GET",
                       "ok"])
    check(shell, """
jcli : morouter -a
Adding a new MO Route: (ok: save, ko: exit)
> type StaticMORoute
<class 'jasmin.routing.Routes.StaticMORoute'> arguments:
filters, connector
> connector smppc(x)
Invalid syntax for connector id, must be smpps(some_id) or http(some_id).
> connector http(nope)
Unknown http cid: nope
> rate 1
Unknown Route key: rate
> connector http(HTTP-01)
> filters filter_1
> order 10
> ok
Successfully added MORoute [StaticMORoute] with order:10
jcli : morouter -l
#Order Type                    Connector ID(s)                                  Filter(s)
#10    StaticMORoute           http(HTTP-01)                                    <T>
Total MO Routes: 1
""")


def test_route_tester(shell):
    check(shell, """
jcli : mtrouter --test
Testing MT routes: (ok: test, ko: exit)
> user foo
> destination 33600000000
> tags vip,gold
> priority high
Error: priority must be an integer
> ok
MT route 0 DefaultRoute would take it
jcli : morouter --test
Testing MO routes: (ok: test, ko: exit)
> connector smppcc_1
> ok
MO route 0 DefaultRoute would take it
""")
    assert shell.ctx.service.tested[0] == {"user": "foo", "destination_addr": "33600000000",
                                           "tags": ["vip", "gold"]}


# --- interceptors (§7.9) -----------------------------------------------------------------------

def test_mtinterceptor_declarative_actions_and_script_refused(shell):
    routed(shell)
    check(shell, """
jcli : mtinterceptor -a
Adding a new MT Interceptor: (ok: save, ko: exit)
> type StaticMTInterceptor
<class 'jasmin.routing.Interceptors.StaticMTInterceptor'> arguments:
filters, actions
> filters filter_1
> script python3(/opt/jasmin-scripts/interception/mt-interceptor.py)
Error: smscd does not run interceptor scripts; use `actions ...` (declarative, see help) or `python NAME` (an installed smscd.interceptors entry point)
> actions set_source JASMIN; add_tags vip
> order 100
> ok
Successfully added MTInterceptor [StaticMTInterceptor] with order:100
jcli : mtinterceptor -l
#Order Type                 Action(s)                                       Filter(s)
#100   StaticMTInterceptor  <SA:= (JASMIN)> <TG+ (vip)>                     <T>
Total MT Interceptors: 1
jcli : mtinterceptor -s 100
StaticMTInterceptor/<SA:= (JASMIN)> <TG+ (vip)>
jcli : mtinterceptor -r 100
Successfully removed MT Interceptor with order:100
jcli : mtinterceptor -f
Successfully flushed MT Interceptor table (0 flushed entries)
""")


def test_mointerceptor_default_is_forced_to_order_0(shell):
    check(shell, """
jcli : mointerceptor -a
Adding a new MO Interceptor: (ok: save, ko: exit)
> type DefaultInterceptor
<class 'jasmin.routing.Interceptors.DefaultInterceptor'> arguments:
actions
> order 5
Interceptor order forced to 0 since it is a DefaultInterceptor
> actions add_tags mo
> ok
Successfully added MOInterceptor [DefaultInterceptor] with order:0
""")


def test_parse_actions_positional_named_and_quoted():
    actions, error = parse_actions('reject ESME_RINVDSTADR http_status=412 message="no way";'
                                   ' force_ton_npi destination ton=1; set_source X '
                                   'only_if_empty=true')
    assert error is None
    assert actions == [
        {"action": "reject", "smpp_status": "ESME_RINVDSTADR", "http_status": 412,
         "message": "no way"},
        {"action": "force_ton_npi", "side": "destination", "ton": 1},
        {"action": "set_source", "address": "X", "only_if_empty": True}]
    assert parse_actions("nope 1")[1].startswith("Error: unknown action 'nope'")
    assert parse_actions("strip_registered_delivery 1")[1] == \
        "Error: strip_registered_delivery: too many arguments (1)"


# --- stats, persist/load, queue ------------------------------------------------------------------

def test_stats_smppc_and_not_collected(shell):
    transcript(shell, ["smppccm -a", "cid Demo", "ok"])
    assert run(shell, "stats --smppcs") == [
        "#Connector id  Service  Session  Binds  Submits/s  Queue  Last error",
        "#Demo          stopped  NONE     0      0.0        0      ND",
        "Total connectors: 1"]
    assert run(shell, "stats --smppc=nope") == ["Unknown connector: nope"]
    assert run(shell, "stats --users") == [
        "Error: runtime statistics are not available in this shell"]
    assert run(shell, "stats") == ["Missing required option"]


def test_persist_and_load_profiles(tmp_path: Path):
    service = FakeService()
    s = new_session(service, profiles=ProfileFiles(tmp_path))
    assert run(s, "persist") == [f"{m} configuration persisted (profile:jcli-prod)" for m in (
        "group", "user", "mointerceptor", "mtinterceptor", "morouter", "mtrouter", "smppcc",
        "filter", "httpcc")]
    assert (tmp_path / "jcli-prod.yaml").read_text() == "version: 2\n"
    assert (tmp_path / "jcli-prod.yaml").stat().st_mode & 0o777 == 0o600
    assert run(s, "load -p jcli-prod")[-1] == "httpcc configuration loaded (profile:jcli-prod)"
    assert service.imported == ["version: 2\n"]
    (tmp_path / "bad.yaml").write_text("bad")
    out = run(s, "load -p bad")
    assert out[0] == "Failed to load group configuration (profile:bad)"
    assert out[-2:] == ["Error: users[0].uid: required", "Error: groups[1].gid: bad"]
    assert run(s, "load -p ../etc/passwd")[-1].startswith("Error: profile name")
    assert run(s, "load -p missing")[-1].startswith("Error: no profile 'missing'")


class FakeQueues:
    def __init__(self):
        from smscd.stores.interfaces import DeadLetter
        self.dead = {7: DeadLetter(7, "mt:Demo", "m1", b"", 5, "ESME_RSYSERR", 0.0, None)}

    def dead_letters(self, queue, limit):
        from twisted.internet.defer import succeed
        return succeed([d for d in self.dead.values() if d.queue == queue])

    def requeue_dead(self, dead_id):
        from twisted.internet.defer import succeed
        return succeed(self.dead.pop(dead_id, None) is not None)

    def purge_dead(self, queue):
        from twisted.internet.defer import succeed
        gone = [k for k, d in self.dead.items() if d.queue == queue]
        for k in gone:
            del self.dead[k]
        return succeed(len(gone))


def test_queue_list_and_requeue():
    s = new_session(queues=FakeQueues())
    assert run(s, "queue -l mt:Demo") == [
        "7  mt:Demo  key=m1  attempts=5  died 1970-01-01 00:00:00 UTC  reason: ESME_RSYSERR",
        "1 dead letter(s) in mt:Demo"]
    assert run(s, "queue -q 7,8") == ["7: requeued", "8: no such dead letter"]
    assert run(s, "queue -q x") == ["Error: requeue expects dead letter ids (numbers from "
                                    "queue -l)"]
    assert run(s, "queue -p mt:Demo") == ["Successfully purged 0 dead letter(s) from mt:Demo"]


def test_audit_text_names_the_change_and_masks_the_password(shell):
    transcript(shell, ["group -a", "gid g", "ok", "user -a", "uid u", "gid g", "username u",
                       "password secret", "mt_messaging_cred quota balance 5",
                       "smpps_cred quota max_bindings 2"])
    reply = shell.step("ok")
    assert reply.call is not None and reply.call.audit == (
        "user -a: uid=u, gid=g, username=u, password=***, "
        "mt_messaging_cred quota balance 5, smpps_cred quota max_bindings 2")
