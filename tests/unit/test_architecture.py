"""The import rules of ARCHITECTURE.md and STYLE.md, checked by walking every module's AST."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOMAIN_PACKAGES = ("parking", "identity", "sensors", "billing", "enforcement", "reports")
# Only `api` may use the web and scheduling frameworks, and nothing imports `api`.
SHELL_ONLY = frozenset(["flask", "werkzeug", "marshmallow", "apscheduler", "click", "api"])
PROJECT_PACKAGES = frozenset(
    ["api", "identity", "sensors", "billing", "enforcement", "fixtures", "reports", "bench"]
)
# The product: what runs in the web app, the scheduler and the operators' commands.
PRODUCT_PACKAGES = ("parking", "identity", "sensors", "billing", "enforcement", "reports", "api")
# The one sanctioned wall-clock read: the clock the shell injects (everything else takes `now`).
CLOCK_READS_ALLOWED: frozenset[tuple[str, str]] = frozenset()  # the wall clock is api.clock


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


def every_project_file() -> Iterator[Path]:
    """Every .py file of the repository, outside hidden folders (.venv, caches) and tests/."""
    for path in sorted(REPO.rglob("*.py")):
        parts = path.relative_to(REPO).parts
        if not any(part.startswith(".") for part in parts) and parts[0] != "tests":
            yield path


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(path: Path) -> set[str]:
    """Dotted names a module imports, relative imports resolved against its package."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.add(".".join([*base, *([node.module] if node.module else [])]))
            else:
                names.add(node.module or "")
    return names


def imports_of(paths: list[Path], forbidden: frozenset[str]) -> list[str]:
    return [
        f"{path.relative_to(REPO)} imports {name}"
        for path in paths
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in forbidden
    ]


class ClockReads(ast.NodeVisitor):
    """Calls of datetime.now/utcnow/today, date.today and time.time, by enclosing qualname."""

    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[str, int]] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._within(node.name, node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._within(node.name, node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._within(node.name, node)

    def visit_Call(self, node: ast.Call) -> None:
        if _reads_the_clock(node.func):
            self.found.append((".".join(self.scope) or "<module>", node.lineno))
        self.generic_visit(node)

    def _within(self, name: str, node: ast.AST) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()


def _reads_the_clock(func: ast.expr) -> bool:
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    owner_name = (
        owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
    )
    if func.attr in ("now", "utcnow", "today"):
        return owner_name in ("datetime", "date")
    return func.attr == "time" and owner_name == "time"


def test_the_walk_finds_the_domain_modules() -> None:
    found = {path.relative_to(REPO).as_posix() for path in python_files(*DOMAIN_PACKAGES)}

    assert {
        "parking/timeline.py",
        "sensors/cds.py",
        "billing/__init__.py",
        "enforcement/__init__.py",
    } <= found


def test_the_domain_packages_import_no_web_or_scheduling_framework_and_not_the_api() -> None:
    assert imports_of(python_files(*DOMAIN_PACKAGES), SHELL_ONLY) == []


def test_parking_imports_no_other_project_package() -> None:
    assert imports_of(python_files("parking"), PROJECT_PACKAGES) == []


def test_parking_imports_only_the_standard_library_and_sqlalchemy() -> None:
    allowed = {*sys.stdlib_module_names, "sqlalchemy", "parking", "__future__"}
    found = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in python_files("parking")
        for name in sorted(imported_modules(path))
        if name.split(".")[0] not in allowed
    ]
    assert found == []


def test_only_one_module_of_billing_imports_stripe() -> None:
    others = [p for p in every_project_file() if p.relative_to(REPO).as_posix() != "billing/gateway.py"]

    assert len(others) > 50, "the walk found too few modules"
    assert imports_of(others, frozenset(["stripe"])) == []
    assert imports_of([REPO / "billing/gateway.py"], frozenset(["stripe"])) != []


def test_the_domain_packages_never_read_the_wall_clock() -> None:
    reads: list[str] = []
    for path in python_files(*DOMAIN_PACKAGES):
        visitor = ClockReads()
        visitor.visit(parse(path))
        name = path.relative_to(REPO).as_posix()
        reads.extend(
            f"{name}:{line} in {scope}"
            for scope, line in visitor.found
            if (name, scope) not in CLOCK_READS_ALLOWED
        )

    assert reads == []


def test_the_clock_read_detector_sees_every_spelling() -> None:
    source = (
        "import datetime, time\n"
        "def f():\n"
        "    datetime.datetime.now()\n"
        "    datetime.now(UTC)\n"
        "    datetime.utcnow()\n"
        "    date.today()\n"
        "    time.time()\n"
        "    clock.now()\n"
        "    time.monotonic()\n"
    )
    visitor = ClockReads()
    visitor.visit(ast.parse(source))

    assert [line for _, line in visitor.found] == [3, 4, 5, 6, 7]


def test_benchmarks_live_outside_the_product_and_only_the_cli_registers_them() -> None:
    product = python_files(*PRODUCT_PACKAGES)
    registering = [REPO / "api/cli/__init__.py"]
    assert not [p for p in product if "bench" in p.name], "benchmark modules belong in bench/"
    assert imports_of([p for p in product if p not in registering], frozenset(["bench"])) == []
    assert imports_of(registering, frozenset(["bench"])) == ["api/cli/__init__.py imports bench"]


def test_the_product_never_imports_test_code_and_the_payment_path_no_fixtures() -> None:
    product = python_files(*PRODUCT_PACKAGES)

    assert imports_of(product, frozenset(["tests"])) == []
    assert (
        imports_of([REPO / "api/payment_gateway.py", *python_files("billing")], frozenset(["fixtures"])) == []
    )
    assert not (REPO / "billing/fake_gateway.py").exists(), "the fake gateway is test code (tests/support/)"


# -- the whole picture (docs/ARCHITECTURE.md) ---------------------------------------------

# Which project packages each package may import (anywhere in the module, lazily or not).
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    "parking": frozenset(),
    "identity": frozenset({"parking"}),
    "sensors": frozenset({"parking", "identity"}),
    "billing": frozenset({"parking", "identity"}),
    "enforcement": frozenset({"parking", "identity", "sensors", "billing"}),
    "reports": frozenset({"parking", "identity", "sensors", "billing", "enforcement"}),
    "fixtures": frozenset({"parking", "identity", "sensors", "billing", "enforcement"}),
    "api": frozenset(
        {"parking", "identity", "sensors", "billing", "enforcement", "reports", "fixtures", "bench"}
    ),
    "bench": frozenset(
        {"parking", "identity", "sensors", "billing", "enforcement", "reports", "fixtures", "api"}
    ),
}
# Modules allowed one more package than their own: the use cases of what devices report book a
# POS terminal's payments (billing) with the pushed batch.
MODULE_EXTRAS: dict[str, frozenset[str]] = {"sensors/services.py": frozenset({"billing"})}
# Module-level state that a function changes: each one a named debt with its reason, so that no
# new one can appear unnoticed. docs/ARCHITECTURE.md ("Known debts") explains them.
KNOWN_MUTABLE_STATE = {
    ("parking/plates.py", "_hash_key"),  # the plate hash key, set once by create_app
    ("billing/tariffs.py", "_COMPILED"),  # compiled tariff versions: versions never change
}
_MUTATORS = {"append", "add", "update", "setdefault", "clear", "pop", "extend", "remove", "discard", "insert"}


def _top(path: Path) -> str:
    return path.relative_to(REPO).parts[0]


def test_each_package_imports_only_what_the_matrix_allows() -> None:
    found = [
        f"{path.relative_to(REPO)} imports {name}"
        for package, allowed in ALLOWED_IMPORTS.items()
        for path in python_files(package)
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in ALLOWED_IMPORTS
        and name.split(".")[0] != package
        and name.split(".")[0]
        not in allowed | MODULE_EXTRAS.get(path.relative_to(REPO).as_posix(), frozenset())
    ]
    assert found == []


def test_only_the_command_line_and_the_benchmarks_import_fixtures() -> None:
    product = [
        p for p in python_files(*PRODUCT_PACKAGES) if not p.relative_to(REPO).as_posix().startswith("api/cli")
    ]
    assert len(product) > 50
    assert imports_of(product, frozenset(["fixtures"])) == []


def _module_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in parse(path).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_two_modules_import_each_other_even_through_others() -> None:
    modules = {}
    for path in python_files(*ALLOWED_IMPORTS):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {
        name: {dep for dep in _module_level_imports(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*trail[trail.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def _mutated_module_names(path: Path) -> set[str]:
    tree = parse(path)
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    mutated: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                mutated.update(node.names)
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in names
                ):
                    mutated.add(target.value.id)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names
            ):
                mutated.add(node.func.value.id)
    return mutated


def test_domain_packages_keep_no_module_level_state_beyond_the_named_debts() -> None:
    found = {
        (path.relative_to(REPO).as_posix(), name)
        for path in python_files(*DOMAIN_PACKAGES)
        for name in _mutated_module_names(path)
    }
    assert found <= KNOWN_MUTABLE_STATE, sorted(found - KNOWN_MUTABLE_STATE)


def test_the_mutable_state_detector_sees_item_assignment_mutator_calls_and_global() -> None:
    source = "CACHE = {}\nSEEN = []\nKEY = None\ndef f():\n    CACHE[1] = 2\n    SEEN.append(1)\n    global KEY\n    KEY = 3\n"
    path = REPO / "tests" / "unit" / "_mutable_state_probe.py"
    path.write_text(source)
    try:
        assert _mutated_module_names(path) == {"CACHE", "SEEN", "KEY"}
    finally:
        path.unlink()


def test_money_is_written_out_by_the_one_money_module() -> None:
    """billing/money.py holds the one currency table and the one formatter: no other module
    formats currency through Babel's number functions."""
    others = [p for p in every_project_file() if p.relative_to(REPO).as_posix() != "billing/money.py"]
    found = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in others
        for name in sorted(imported_modules(path))
        if name == "babel.numbers"
    ]
    assert found == []
    assert "babel.numbers" in imported_modules(REPO / "billing/money.py")


# -- module size ------------------------------------------------------------------------------

MAX_MODULE_LINES = 400
# Modules allowed over MAX_MODULE_LINES, each with the reason its docstring also gives
# (docs/ARCHITECTURE.md, "Module size"). A module not listed here that grows past the limit
# fails: split it along a seam, or write down why it must stay whole.
LONG_MODULES = {
    "billing/gateway.py": "the one module allowed to import stripe: all Stripe-specific code stays in it",
    "fixtures/simulator.py": "the batch day and the live street share one seeded random stream",
    "bench/attack_review.py": "one function per security-review finding, in the review's order",
}
SIZED_PACKAGES = (*PRODUCT_PACKAGES, "fixtures", "bench")


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_400_lines_without_a_written_reason() -> None:
    over = {
        path.relative_to(REPO).as_posix(): _lines(path)
        for path in python_files(*SIZED_PACKAGES)
        if _lines(path) > MAX_MODULE_LINES
    }
    unexplained = sorted(name for name in over if name not in LONG_MODULES)
    assert unexplained == [], f"over {MAX_MODULE_LINES} lines with no reason in LONG_MODULES: {unexplained}"


def test_each_long_module_is_still_long_and_says_why_in_its_docstring() -> None:
    for name in LONG_MODULES:
        path = REPO / name
        assert _lines(path) > MAX_MODULE_LINES, f"{name} is short now: take it off LONG_MODULES"
        docstring = ast.get_docstring(parse(path)) or ""
        assert "Over 400 lines on purpose" in docstring, f"{name} does not say why it is long"


def test_identity_imports_only_the_standard_library_sqlalchemy_argon2_and_parking() -> None:
    allowed = {*sys.stdlib_module_names, "sqlalchemy", "argon2", "parking", "identity", "__future__"}
    found = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in python_files("identity")
        for name in sorted(imported_modules(path))
        if name.split(".")[0] not in allowed
    ]
    assert found == []


def test_tokens_are_hashed_in_one_place() -> None:
    """identity/tokens.py `hash_token` is the one token hash of staff, drivers and devices."""
    hashing = re.compile(r"sha256\(\s*[\w.]*token")
    found = [
        path.relative_to(REPO).as_posix()
        for path in every_project_file()
        if hashing.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["identity/tokens.py"]


# A domain package reads and writes its own tables; another package's rows come through that
# package's models or functions (retention, fee caps, a receipt's terminal and citations), with
# no exception.
_SQL_TABLE = re.compile(r"\b(?:from|join|update|into|truncate)\s+\"?([a-z_][a-z0-9_]*)", re.IGNORECASE)


def _table_owners() -> dict[str, str]:
    """Each mapped table's name and the package whose models declare it (`__tablename__`)."""
    owners = {}
    for path in python_files(*DOMAIN_PACKAGES):
        for node in ast.walk(parse(path)):
            named = isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            if named and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in node.targets):
                owners[str(node.value.value)] = _top(path)
    return owners


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def tables_named(tree: ast.Module) -> set[str]:
    """Tables a module names as text: `table("name", ...)` clauses and SQL inside `text(...)`."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _called(node) == "table" and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
        if _called(node) == "text":
            for arg in ast.walk(node):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names.update(_SQL_TABLE.findall(arg.value))
    return names


def test_domain_packages_name_no_other_packages_table() -> None:
    owners = _table_owners()
    found = {
        (str(path.relative_to(REPO)), name)
        for path in python_files(*DOMAIN_PACKAGES)
        for name in tables_named(parse(path))
        if owners.get(name, _top(path)) != _top(path)
    }
    assert found == set(), "read them through the owning package's models or functions"


def test_the_table_name_detector_sees_table_clauses_and_raw_sql() -> None:
    source = (
        'a = table("dispute", column("uuid"))\n'
        'b = db.execute(sa.text("SELECT 1 FROM stay_fee JOIN payment ON true"))\n'
        'c = text("UPDATE violation SET x = 1")\n'
        'd = "dispute"  # a plain string is not a table\n'
    )
    assert tables_named(ast.parse(source)) == {"dispute", "stay_fee", "payment", "violation"}
    assert _table_owners()["dispute"] == "enforcement" and _table_owners()["stay_fee_cap"] == "billing"
