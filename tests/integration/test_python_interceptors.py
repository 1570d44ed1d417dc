"""Python interceptors installed as real entry points, run in a real thread pool.

The entry points are installed the way pip does it (a dist-info directory on sys.path)
and point at tests/plugins/smscd_test_interceptors.py. Time limits are driven by a Clock;
the slow interceptor is held by a threading.Event the test releases: no sleeps.
"""
from __future__ import annotations

import importlib.metadata
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from twisted.logger import LogEvent, formatEvent, globalLogPublisher
from twisted.python.threadpool import ThreadPool

from routing.filters import TransparentFilter
from routing.interceptor_actions import Reject, SetSource
from routing.interceptors import Interception, InterceptorTable, StaticMTInterceptor, intercept
from routing.routable import MT, Routable
from smscd.python_interceptors import GROUP, InterceptorConfigError, PythonInterceptors
from smscd.smpp.status import CommandStatus

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
ENTRY_POINTS = {
    "upper_source": "smscd_test_interceptors:upper_source",
    "refuse_premium": "smscd_test_interceptors:refuse_premium",
    "broken": "smscd_test_interceptors:broken",
    "wrong_result": "smscd_test_interceptors:wrong_result",
    "turns_mo": "smscd_test_interceptors:turns_mo",
    "gated": "smscd_test_interceptors:gated",
    "not_callable": "smscd_test_interceptors:NOT_CALLABLE",
    "gone": "smscd_no_such_module:intercept",
}
AT = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SYSERR_503 = (CommandStatus.ESME_RSYSERR, 503)


def install(site: Path, dist: str, entry_points: dict[str, str]) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install(tmp_path, "smscd-test-interceptors", ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def pool(site: Path) -> Iterator[ThreadPool]:
    import smscd_test_interceptors as plugins  # importable now that `site` is on sys.path

    plugins.GATE.clear()
    plugins.ENTERED.clear()
    tp = ThreadPool(minthreads=0, maxthreads=2, name="test-interceptors")
    tp.start()
    yield tp
    plugins.GATE.set()          # never leave a gated call blocking the join below
    tp.stop()


@pytest.fixture
def logged() -> Iterator[list[str]]:
    lines: list[str] = []

    def observe(event: LogEvent) -> None:
        if event.get("log_namespace") == "smscd.python_interceptors":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def runner(pool: ThreadPool, clock: object = None, timeout: float = 30.0) -> PythonInterceptors:
    from twisted.internet import reactor
    return PythonInterceptors(reactor, clock=clock, threadpool=pool,  # type: ignore[arg-type]
                              timeout=timeout)


def interception(python: str, **kw: object) -> Interception:
    fields: dict[str, object] = dict(direction=MT, at=AT, user="foo", source_addr="acme",
                                     destination_addr="33612345678")
    fields.update(kw)
    return Interception(Routable(**fields), order=10, python=python)  # type: ignore[arg-type]


def test_installed_names_come_from_the_entry_point_group(site: Path) -> None:
    """Breaks if interceptors are not discovered from installed distributions."""
    runner_ = PythonInterceptors(None)  # type: ignore[arg-type]
    assert set(ENTRY_POINTS) <= set(runner_.installed())


@pytest_twisted.ensureDeferred
async def test_found_interceptor_rewrites_the_message(site: Path, pool: ThreadPool) -> None:
    """Breaks if an installed interceptor is not run or its Routable is not kept, after
    the rule's declarative actions."""
    table = InterceptorTable(MT, {10: StaticMTInterceptor(
        (TransparentFilter("all"),), (SetSource("acme-fr"),), python="upper_source")})
    r = Routable(MT, AT, source_addr="12345")
    runner_ = runner(pool)
    runner_.require(table.python_names)
    result = await runner_.run(intercept(table, r))
    assert result.rejection is None
    assert (result.order, result.routable.source_addr) == (10, "ACME-FR")


@pytest_twisted.ensureDeferred
async def test_interceptor_may_refuse_with_its_own_statuses(site: Path,
                                                           pool: ThreadPool) -> None:
    """Breaks if a Reject returned by Python code loses its SMPP/HTTP statuses."""
    runner_ = runner(pool)
    runner_.require(["refuse_premium"])
    refused = await runner_.run(interception("refuse_premium", destination_addr="0900123"))
    assert refused.rejection == Reject(CommandStatus.ESME_RINVDSTADR, 403,
                                       "premium numbers are barred")
    passed = await runner_.run(interception("refuse_premium"))
    assert passed.rejection is None


@pytest_twisted.ensureDeferred
async def test_raising_interceptor_refuses_and_logs_its_name(
        site: Path, pool: ThreadPool, logged: list[str]) -> None:
    """Breaks if an exception in operator code escapes, lets the message through, or is
    not logged with the interceptor's name."""
    runner_ = runner(pool)
    runner_.require(["broken"])
    result = await runner_.run(interception("broken"))
    assert result.rejection is not None
    assert (result.rejection.smpp_status, result.rejection.http_status) == SYSERR_503
    assert result.rejection.message == "interceptor broken failed"
    assert any("python interceptor 'broken' raised" in line for line in logged)


@pytest_twisted.ensureDeferred
async def test_bad_results_are_refused(site: Path, pool: ThreadPool,
                                       logged: list[str]) -> None:
    """Breaks if a result that is neither a Routable of the same direction nor a Reject
    is let through."""
    runner_ = runner(pool)
    runner_.require(["wrong_result", "turns_mo"])
    for name in ("wrong_result", "turns_mo"):
        result = await runner_.run(interception(name))
        assert result.rejection is not None
        assert (result.rejection.smpp_status, result.rejection.http_status) == SYSERR_503
        assert result.rejection.message == f"interceptor {name} returned a bad result"
    assert [line.split(" returned ")[1] for line in logged] == [
        "str, not a MT Routable or a Reject; message refused",
        "Routable, not a MT Routable or a Reject; message refused"]


@pytest_twisted.ensureDeferred
async def test_too_slow_interceptor_is_refused_at_its_deadline(
        site: Path, pool: ThreadPool, logged: list[str]) -> None:
    """Breaks if a stuck interceptor holds the message past its time limit, or if its
    late answer is used."""
    import smscd_test_interceptors as plugins

    clock = Clock()
    runner_ = runner(pool, clock, timeout=2.0)
    runner_.require(["gated"])
    d = runner_.run(interception("gated"))
    clock.advance(1.9)
    assert not d.called
    clock.advance(0.1)
    result = await d
    assert result.rejection is not None
    assert (result.rejection.smpp_status, result.rejection.http_status) == SYSERR_503
    assert result.rejection.message == "interceptor gated timed out"
    assert logged == ["python interceptor 'gated' took longer than 2.0s; message refused"]
    plugins.GATE.set()


@pytest_twisted.ensureDeferred
async def test_nothing_to_run(pool: ThreadPool) -> None:
    """Breaks if messages without a Python interceptor, or already refused, go through a
    thread (cost) or change."""
    plain = Interception(Routable(MT, AT), order=3)
    refused = Interception(Routable(MT, AT), order=3, rejection=Reject(8), python="broken")
    runner_ = runner(pool)
    assert await runner_.run(plain) is plain
    assert await runner_.run(refused) is refused


@pytest_twisted.ensureDeferred
async def test_name_never_required_is_refused_at_run(site: Path, pool: ThreadPool,
                                                     logged: list[str]) -> None:
    """Breaks if `run` imports code on the reactor thread or lets the message through when
    its interceptor was never loaded."""
    result = await runner(pool).run(interception("upper_source"))
    assert result.rejection is not None
    assert result.rejection.message == "interceptor upper_source is not loaded"
    assert logged == ["python interceptor 'upper_source' was not loaded; message refused"]


def test_missing_and_unloadable_names_are_config_errors(site: Path) -> None:
    """Breaks if a rule naming an interceptor that is not installed, does not import or is
    not a function is accepted; every bad name is reported at once."""
    runner_ = PythonInterceptors(None)  # type: ignore[arg-type]
    with pytest.raises(InterceptorConfigError) as e:
        runner_.require(["upper_source", "hlr_lookup", "gone", "not_callable"])
    assert e.value.problems == [
        "python interceptor 'gone': cannot load smscd_no_such_module:intercept "
        "(ModuleNotFoundError: No module named 'smscd_no_such_module')",
        "python interceptor 'hlr_lookup': not installed (no entry point 'hlr_lookup' in "
        "group 'smscd.interceptors')",
        "python interceptor 'not_callable': smscd_test_interceptors:NOT_CALLABLE is not "
        "callable"]
    runner_.require(["upper_source"])      # the good one stayed loaded


def test_a_name_installed_twice_is_ambiguous(site: Path) -> None:
    """Breaks if two distributions claiming one name silently pick one of them."""
    install(site, "other-interceptors", {"upper_source": "other_module:upper"})
    runner_ = PythonInterceptors(None)  # type: ignore[arg-type]
    with pytest.raises(InterceptorConfigError) as e:
        runner_.require(["upper_source"])
    assert e.value.problems == [
        "python interceptor 'upper_source': installed more than once "
        "(other_module:upper, smscd_test_interceptors:upper_source)"]


def test_entry_points_can_be_injected() -> None:
    """Breaks if the loader cannot be given its entry points (how the daemon's tests pin
    them without installing anything)."""
    eps = [importlib.metadata.EntryPoint("p", "routing.routable:Routable", GROUP)]
    runner_ = PythonInterceptors(None, entry_points=lambda: eps)  # type: ignore[arg-type]
    assert runner_.installed() == ["p"]
    runner_.require(["p"])
