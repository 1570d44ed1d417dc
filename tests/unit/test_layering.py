"""ARCHITECTURE.md's hard rule: the protocol core and the routers do no I/O."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PURE = ("smscd/smpp", "routing")
FORBIDDEN = ("twisted", "asyncio", "aio_pika", "redis", "asyncpg", "smscd.queues",
             "smscd.stores")


def imported_names(source: str, package: str) -> list[str]:
    """Every module (and `from` name) that `source`, a module of `package`, imports,
    as absolute dotted paths; relative imports are resolved against `package`."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names += [module] + [f"{module}.{a.name}" for a in node.names]
    return names


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_pure_parts_import_no_io() -> None:
    """Breaks when a module under smscd/smpp/ or routing/ imports Twisted, asyncio, a
    backend client or our queue/store packages."""
    files = [p for d in PURE for p in (ROOT / d).rglob("*.py")]
    assert any(p.parent == ROOT / "smscd" / "smpp" for p in files), "no smscd/smpp/*.py found"
    bad = [(str(p.relative_to(ROOT)), name) for p in files
           for name in imported_names(p.read_text(encoding="utf-8"),
                                      ".".join(p.relative_to(ROOT).parent.parts))
           if forbidden(name)]
    assert bad == []


def test_scanner_sees_every_import_form() -> None:
    """Breaks if the scanner stops recognising an import style (plain, from, relative), so
    the layering test would pass while a forbidden import slips through."""
    source = ("import json\nimport twisted.internet\nfrom asyncio import sleep\n"
              "from .. import stores\nfrom ..queues.sqlite import Queue\nfrom . import codec\n")
    found = [n for n in imported_names(source, "smscd.smpp") if forbidden(n)]
    assert sorted(found) == ["asyncio", "asyncio.sleep", "smscd.queues.sqlite",
                             "smscd.queues.sqlite.Queue", "smscd.stores", "twisted.internet"]
