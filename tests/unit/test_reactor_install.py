"""smscd.reactor.install: the asyncio reactor, or a loud error when another came first."""
import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_install_gives_the_asyncio_reactor() -> None:
    done = _run("from smscd.reactor import install; print(type(install()).__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "AsyncioSelectorReactor"


def test_a_reactor_imported_too_early_is_an_error_not_a_fallback() -> None:
    done = _run("import twisted.internet.reactor\n"
                "from smscd.reactor import install\ninstall()")
    assert done.returncode != 0
    assert "imported twisted.internet.reactor too early" in done.stderr
