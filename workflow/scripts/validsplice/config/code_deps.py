"""Which library files a rule script runs: its static ``validsplice`` import closure, and a digest of it.

The workflow gives every rule a ``code`` param, the digest of the files its script imports
(directly or through other modules, including imports inside functions), so editing any of
them reruns the rule and everything downstream (Snakemake's params trigger). Computed, not
listed: a new import is covered the moment it is written. Read with ``ast``, never imported,
so the Snakefile pays no import cost and a broken module cannot stop parsing.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "validsplice"


def module_file(module: str, root: Path) -> Path | None:
    """The file of a dotted module name under ``root`` (``pkg/mod.py`` or ``pkg/mod/__init__.py``)."""
    base = Path(root, *module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """(dotted name, is a package) of a file under ``root``; a top-level script has its stem."""
    parts = list(path.resolve().relative_to(Path(root).resolve()).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` -> [a, a.b, a.b.c]: importing a module runs its parent packages' ``__init__``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imported_modules(path: Path, root: Path) -> set[str]:
    """The ``validsplice`` modules one file imports anywhere in it (top level or inside functions)."""
    name, is_package = _module_name(path, root)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(path).read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            # ``from pkg import name``: name is a submodule when a file exists for it, else an attribute
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names
                                if module_file(f"{base}.{alias.name}", root)]
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.update(m for m in _with_parents(target) if module_file(m, root))
    return found


def import_closure(script: str | Path, root: str | Path, extra_modules=()) -> list[Path]:
    """The script and every library file it imports, transitively; sorted absolute paths.

    ``extra_modules``: modules the script loads by name at run time (a model's module, named in
    ``models.registry``), which no ``import`` statement shows.
    """
    root = Path(root).resolve()
    files = {Path(script).resolve()}
    todo = [Path(script).resolve()]
    todo += [module_file(m, root) for module in extra_modules for m in _with_parents(module)]
    files.update(todo)
    while todo:
        for module in imported_modules(todo.pop(), root):
            path = module_file(module, root).resolve()
            if path not in files:
                files.add(path)
                todo.append(path)
    return sorted(files)


@lru_cache(maxsize=None)
def code_digest(script: str | Path, root: str | Path, extra_modules: tuple[str, ...] = ()) -> str:
    """Short SHA-256 of the closure's paths (relative to ``root``) and contents."""
    root = Path(root).resolve()
    digest = hashlib.sha256()
    for path in import_closure(script, root, extra_modules):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
