"""A static check that every SQL string the code executes is safe to build.

It walks the syntax trees of the project's modules and finds every SQL *sink*: a call to a
method named `execute`, `executemany`, `sql` or `query`, and, found by fixed point, every
project function that passes one of its parameters on to a sink (`scalar(con, sql)`,
`_stream(con, sql)`) or interpolates one into a sink's SQL (`copy_csv(con, sql, ...)` runs
`f"copy ({sql}) to ..."`): their callers are sinks too. The SQL argument of each sink must be:

- a string constant, or a name or expression that is only ever one (module constants,
  locals, `a + b`, `x if c else y`, `.strip()` of one);
- an f-string, or `", ".join(...)` of f-strings, whose every interpolated value is *trusted*:
  a number (`int(...)`), a module constant, a value iterated from a constant collection
  (tuple, list, dict, set, `Literal[...]` arguments, dataclass instances built from constants;
  through `.items()`, `.get()`, `sorted()`, comprehensions and locals), a SQL fragment that is
  itself safe by these rules (a local or the return value of a project function, checked
  with the call's arguments), or the result of one of `QUOTING_FUNCTIONS`;
- a read of one of the project's own SQL files (`ALLOWED_SQL_FILE_READS`).

Anything else (a parameter interpolated, `.format`, `%`, a string from a file or a frame) is
reported with its file and line. Parameters (`?`) are always fine: they are not in the string.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

SINK_METHODS = {"execute", "executemany", "sql", "query"}
# Functions whose result may be interpolated: they make a value safe whatever it was.
QUOTING_FUNCTIONS = {
    "identifier": "tongket.duck.identifier: raises unless the name is a lower-case SQL identifier, then quotes it",
    "sql_literal": "tongket.duck.sql_literal: a text as a SQL string literal, quotes doubled",
}
# SQL read from the project's own files: (module, function) -> why it is trusted.
ALLOWED_SQL_FILE_READS = {
    ("tasks.marts", "run_layers"): "the warehouse/<layer>/*.sql files of this repository",
    ("tasks.marts", "run_checks"): "the warehouse/90_checks/*.sql files of this repository",
}
NUMBER_FUNCTIONS = {"int", "float", "len", "round"}
ITER_WRAPPERS = {"sorted", "list", "tuple", "set", "reversed", "enumerate"}


@dataclass
class Finding:
    path: str
    line: int
    code: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}: {self.code}"


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    assignments: dict[str, list[ast.expr]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Scope:
    """Where an expression sits: its module, its function (if any), the values its
    parameters were called with (when a function is checked for a call), and the names bound
    by the loops and comprehensions around it, with whether each is trusted."""

    module: Module
    function: ast.FunctionDef | None = None
    arguments: dict[str, tuple[ast.expr, Scope]] = field(default_factory=dict)
    bound: dict[str, bool] = field(default_factory=dict)
    depth: int = 0

    def child(self, **changes) -> Scope:
        values = {
            "module": self.module,
            "function": self.function,
            "arguments": self.arguments,
            "bound": dict(self.bound),
            "depth": self.depth + 1,
        }
        values.update(changes)
        return Scope(**values)


class Analyzer:
    def __init__(self, root: Path, packages: tuple[str, ...]) -> None:
        self.root = root
        self.modules: dict[str, Module] = {}
        for package in packages:
            for path in sorted((root / package).rglob("*.py")):
                name = ".".join(path.relative_to(root).with_suffix("").parts)
                self.add_module(name, path, path.read_text(encoding="utf-8"))
        self.sinks: dict[tuple[str, str], int] = {}  # (module, function) -> SQL parameter index
        self.sites: list[tuple[Module, ast.Call, ast.expr, Scope]] = []
        # Sinks that interpolate a parameter, with their sink call: each needs a checked caller.
        self.interpolating: dict[tuple[str, str], ast.Call] = {}

    def add_module(self, name: str, path: Path, source: str) -> Module:
        tree = ast.parse(source)
        module = Module(name, path, tree)
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        module.assignments.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                module.assignments.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.FunctionDef):
                module.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                module.functions.setdefault(node.name, node)  # a dataclass built from constants
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (node.module, alias.name)
        self.modules[name] = module
        return module

    # --- finding the sinks ------------------------------------------------------------------------
    def _functions(self):
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if isinstance(node, ast.FunctionDef):
                    yield module, node

    def _sink_argument(self, module: Module, call: ast.Call) -> ast.expr | None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in SINK_METHODS and call.args:
            return call.args[0]
        target = self._called_function(module, func)
        if target and target in self.sinks and len(call.args) > self.sinks[target]:
            return call.args[self.sinks[target]]
        return None

    def _called_function(self, module: Module, func: ast.expr) -> tuple[str, str] | None:
        if isinstance(func, ast.Name):
            if func.id in module.functions:
                return module.name, func.id
            if func.id in module.imports:
                return module.imports[func.id]
        return None

    def find_sinks(self) -> None:
        changed = True
        while changed:
            changed = False
            for module, function in self._functions():
                params = [a.arg for a in function.args.args]
                for node in ast.walk(function):
                    if isinstance(node, ast.Call):
                        argument = self._sink_argument(module, node)
                        key = (module.name, function.name)
                        if argument is None or key in self.sinks:
                            continue
                        if isinstance(argument, ast.Name) and argument.id in params:
                            self.sinks[key] = params.index(argument.id)
                            changed = True
                            continue
                        # A parameter interpolated into the SQL (`f"copy ({sql}) to ..."`): when
                        # taking it as a constant makes the SQL safe, the callers' value is checked.
                        scope = self._scope_at(Scope(module, function), function, node)
                        if self.unsafe_sql(argument, scope) is None:
                            continue
                        for index, name in enumerate(params):
                            if self.unsafe_sql(argument, self._as_constant(scope, name)) is None:
                                self.sinks[key] = index
                                self.interpolating[key] = node
                                changed = True
                                break

    # --- checking every sink call -------------------------------------------------------------------
    def check(self) -> list[Finding]:
        self.find_sinks()
        findings: list[Finding] = []
        self.sites = []
        called: set[tuple[str, str] | None] = set()
        for module, function in self._functions():
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                argument = self._sink_argument(module, node)
                if argument is None:
                    continue
                scope = Scope(module, function)
                params = [a.arg for a in function.args.args]
                if isinstance(argument, ast.Name) and argument.id in params:
                    continue  # this function is a sink itself: its callers are checked
                scope = self._scope_at(scope, function, node)
                key = (module.name, function.name)
                if key in self.sinks:  # the parameter it interpolates is checked at its callers
                    scope = self._as_constant(scope, params[self.sinks[key]])
                self.sites.append((module, node, argument, scope))
                called.add(self._called_function(module, node.func))
                why = self.unsafe_sql(argument, scope)
                if why:
                    findings.append(Finding(str(module.path), node.lineno, ast.unparse(argument)[:120], why))
        for (module_name, function_name), node in self.interpolating.items():
            if (module_name, function_name) not in called:  # e.g. a task called by Prefect, not by us
                argument = self._sink_argument(self.modules[module_name], node)
                findings.append(
                    Finding(
                        str(self.modules[module_name].path),
                        node.lineno,
                        ast.unparse(argument)[:120],
                        f"{function_name}() interpolates a parameter and no checked call passes it",
                    )
                )
        return findings

    @staticmethod
    def _as_constant(scope: Scope, name: str) -> Scope:
        """`scope` with the parameter `name` taken as a constant string."""
        arguments = scope.arguments | {name: (ast.Constant(""), Scope(scope.module))}
        return scope.child(arguments=arguments, depth=scope.depth)

    def _scope_at(self, scope: Scope, function: ast.FunctionDef, target: ast.AST) -> Scope:
        """The scope of `target` with the names bound by the loops and comprehensions around it."""
        bound: dict[str, bool] = {}

        def visit(node: ast.AST, inside: dict[str, bool]) -> bool:
            if node is target:
                bound.update(inside)
                return True
            if isinstance(node, (ast.For, ast.comprehension)):
                trusted = self.trusted_names(node.target, node.iter, scope.child(bound=dict(inside)))
                inside = inside | trusted
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                for generator in node.generators:
                    inside = inside | self.trusted_names(generator.target, generator.iter, scope.child(bound=inside))
            return any(visit(child, inside) for child in ast.iter_child_nodes(node))

        visit(function, {})
        return scope.child(bound=scope.bound | bound, depth=scope.depth)

    # --- the rules -----------------------------------------------------------------------------------
    def unsafe_sql(self, expr: ast.expr, scope: Scope) -> str | None:
        """Why a SQL string expression is unsafe, or None."""
        if scope.depth > 40:
            return "too deep to follow"
        if isinstance(expr, ast.Constant):
            return None if isinstance(expr.value, str) else "not a string"
        if isinstance(expr, ast.JoinedStr):
            for part in expr.values:
                if isinstance(part, ast.FormattedValue):
                    why = self.untrusted_value(part.value, scope)
                    if why:
                        return f"interpolates {ast.unparse(part.value)!r} ({why})"
            return None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.unsafe_sql(expr.left, scope) or self.unsafe_sql(expr.right, scope)
        if isinstance(expr, ast.IfExp):
            return self.unsafe_sql(expr.body, scope) or self.unsafe_sql(expr.orelse, scope)
        if isinstance(expr, ast.Name):
            return self._unsafe_name(expr.id, scope, self.unsafe_sql)
        if isinstance(expr, ast.Call):
            return self._unsafe_call(expr, scope)
        return f"a {type(expr).__name__} expression"

    def _unsafe_call(self, call: ast.Call, scope: Scope) -> str | None:
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr == "join" and isinstance(func.value, ast.Constant) and len(call.args) == 1:
                item = call.args[0]
                if isinstance(item, (ast.GeneratorExp, ast.ListComp)):
                    inner = scope.child()
                    for generator in item.generators:
                        inner.bound |= self.trusted_names(generator.target, generator.iter, inner)
                    return self.unsafe_sql(item.elt, inner)
                return None if self.trusted_iter(item, scope) else f"joins {ast.unparse(item)!r}"
            if func.attr in ("strip", "rstrip", "lstrip", "lower", "upper"):
                return self.unsafe_sql(func.value, scope)
            if func.attr == "read_text":
                key = (scope.module.name, scope.function.name if scope.function else "")
                return None if key in ALLOWED_SQL_FILE_READS else "SQL read from a file not on the allow-list"
            if func.attr == "format":
                return "str.format"
        target = self._called_function(scope.module, func)
        if target:
            return self._unsafe_return(target, call, scope)
        return f"the result of {ast.unparse(func)}()"

    def _unsafe_return(self, target: tuple[str, str], call: ast.Call, scope: Scope) -> str | None:
        """A project function's return value, checked with the arguments of this call."""
        module = self.modules.get(target[0])
        function = module.functions.get(target[1]) if module else None
        if not isinstance(function, ast.FunctionDef):
            return f"the result of {target[1]}() (not a project function)"
        arguments = self._bind(function, call, scope)
        inner = Scope(module, function, arguments, {}, scope.depth + 1)
        returns = [n for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]
        if not returns:
            return f"{target[1]}() returns nothing"
        for node in returns:
            why = self.unsafe_sql(node.value, self._scope_at(inner, function, node.value))
            if why:
                return f"{target[1]}() {why}"
        return None

    def _bind(self, function: ast.FunctionDef, call: ast.Call, scope: Scope) -> dict[str, tuple[ast.expr, Scope]]:
        params = [a.arg for a in function.args.args]
        defaults = dict(zip(params[len(params) - len(function.args.defaults) :], function.args.defaults))
        bound = {name: (value, Scope(scope.module)) for name, value in defaults.items()}
        for name, value in zip(params, call.args):
            bound[name] = (value, scope)
        for keyword in call.keywords:
            if keyword.arg:
                bound[keyword.arg] = (keyword.value, scope)
        return bound

    def _unsafe_name(self, name: str, scope: Scope, rule) -> str | None:
        if name in scope.bound:
            return None if scope.bound[name] else f"{name!r} iterates over values not known to be constant"
        if name in scope.arguments:
            value, caller = scope.arguments[name]
            return rule(value, caller.child())
        if scope.function is not None:
            params = [a.arg for a in scope.function.args.args]
            if name in params:
                return f"the parameter {name!r}"
            values = [
                node.value
                for node in ast.walk(scope.function)
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            ]
            if values:
                for value in values:
                    why = rule(value, self._scope_at(scope.child(bound={}), scope.function, value))
                    if why:
                        return why
                return None
        module_values = scope.module.assignments.get(name)
        if module_values:
            for value in module_values:
                why = rule(value, Scope(scope.module, depth=scope.depth + 1))
                if why:
                    return why
            return None
        if name in scope.module.imports:
            source, original = scope.module.imports[name]
            if source in self.modules:
                return self._unsafe_name(original, Scope(self.modules[source], depth=scope.depth + 1), rule)
        return f"{name!r} is not a constant of the project"

    def untrusted_value(self, expr: ast.expr, scope: Scope) -> str | None:
        """Why an interpolated value is not trusted, or None."""
        if isinstance(expr, ast.Constant):
            return None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
            if expr.func.id in NUMBER_FUNCTIONS:
                return None
            if expr.func.id in QUOTING_FUNCTIONS or self._imported_as(scope, expr.func.id) in QUOTING_FUNCTIONS:
                return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            if expr.value.id in scope.bound:
                return None if scope.bound[expr.value.id] else f"{expr.value.id!r} is not from a constant collection"
            if expr.value.id in scope.arguments:
                value, caller = scope.arguments[expr.value.id]
                return self.untrusted_value(ast.Attribute(value=value, attr=expr.attr), caller.child())
        if isinstance(expr, ast.Name):
            return self._unsafe_name(expr.id, scope, self._trusted_or_sql)
        return self.unsafe_sql(expr, scope)

    def _trusted_or_sql(self, expr: ast.expr, scope: Scope) -> str | None:
        if self.is_constant(expr, scope):
            return None
        return self.untrusted_value(expr, scope) if not isinstance(expr, ast.Name) else self.unsafe_sql(expr, scope)

    def _imported_as(self, scope: Scope, name: str) -> str | None:
        return scope.module.imports.get(name, (None, None))[1]

    # --- constant collections ----------------------------------------------------------------------
    def is_constant(self, expr: ast.expr, scope: Scope) -> bool:
        """Whether an expression's value is fixed by the code: literals, and what is built from
        them (sums, f-strings, comprehensions over them, dataclasses made from them)."""
        if scope.depth > 40:
            return False
        if isinstance(expr, ast.Constant):
            return True
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mult)):
            return self.is_constant(expr.left, scope) and self.is_constant(expr.right, scope)
        if isinstance(expr, ast.JoinedStr):
            return all(self.is_constant(v.value, scope) for v in expr.values if isinstance(v, ast.FormattedValue))
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            if expr.func.attr in ("lower", "upper", "strip") and not expr.args:
                return self.is_constant(expr.func.value, scope)
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            inner = scope.child()
            for generator in expr.generators:
                if not self.is_constant(generator.iter, inner):
                    return False
                inner.bound |= {n.id: True for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
            return self.is_constant(expr.elt, inner)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return all(self.is_constant(e, scope) for e in expr.elts)
        if isinstance(expr, ast.Dict):
            return all(k is not None and self.is_constant(k, scope) for k in expr.keys) and all(
                self.is_constant(v, scope) for v in expr.values
            )
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id[:1].isupper():
            return all(self.is_constant(a, scope) for a in expr.args) and all(
                self.is_constant(k.value, scope) for k in expr.keywords
            )
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id == "Literal":
            return self.is_constant(expr.slice, scope)
        if isinstance(expr, ast.Attribute) and expr.attr == "__args__" and isinstance(expr.value, ast.Name):
            return self._constant_name(expr.value.id, scope)
        if isinstance(expr, ast.Name):
            if expr.id in scope.bound:
                return scope.bound[expr.id]
            return self._constant_name(expr.id, scope)
        return False

    def _constant_name(self, name: str, scope: Scope) -> bool:
        values = scope.module.assignments.get(name)
        if values:
            return all(self.is_constant(v, Scope(scope.module, depth=scope.depth + 1)) for v in values)
        if name in scope.module.imports:
            source, original = scope.module.imports[name]
            if source in self.modules and scope.depth < 40:
                return self._constant_name(original, Scope(self.modules[source], depth=scope.depth + 1))
        return False

    def trusted_iter(self, expr: ast.expr, scope: Scope) -> bool:
        if self.is_constant(expr, scope):
            return True
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values", "get"):
                return self.trusted_iter(func.value, scope)
            if isinstance(func, ast.Name) and func.id in ITER_WRAPPERS and expr.args:
                return self.trusted_iter(expr.args[0], scope)
        if isinstance(expr, ast.Subscript):
            return self.trusted_iter(expr.value, scope)
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            inner = scope.child()
            for generator in expr.generators:
                inner.bound |= self.trusted_names(generator.target, generator.iter, inner)
            return self._trusted_element(expr.elt, inner)
        if isinstance(expr, ast.Name):
            if expr.id in scope.bound:
                return scope.bound[expr.id]
            if expr.id in scope.arguments:
                value, caller = scope.arguments[expr.id]
                return self.trusted_iter(value, caller.child())
            if scope.function is not None and scope.depth < 40:
                values = [
                    node.value
                    for node in ast.walk(scope.function)
                    if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
                ]
                if values:
                    return all(self.trusted_iter(v, self._scope_at(scope.child(), scope.function, v)) for v in values)
        return False

    def _trusted_element(self, expr: ast.expr, scope: Scope) -> bool:
        if isinstance(expr, ast.Name):
            return scope.bound.get(expr.id, False) or self.is_constant(expr, scope)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            return scope.bound.get(expr.value.id, False)
        if isinstance(expr, ast.Tuple):
            return all(self._trusted_element(e, scope) for e in expr.elts)
        return self.is_constant(expr, scope)

    def trusted_names(self, target: ast.expr, iterable: ast.expr, scope: Scope) -> dict[str, bool]:
        """The names a loop target binds, each trusted or not."""
        names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        if self.trusted_iter(iterable, scope):
            return dict.fromkeys(names, True)
        # `for key, value in {<constant keys>: anything}.items()`: the keys are trusted
        dict_items = (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "items"
            and isinstance(target, ast.Tuple)
            and len(target.elts) == 2
            and isinstance(target.elts[0], ast.Name)
        )
        if dict_items:
            keys_trusted = self._constant_keys(iterable.func.value, scope)
            result = dict.fromkeys(names, False)
            result[target.elts[0].id] = keys_trusted
            return result
        return dict.fromkeys(names, False)

    def _constant_keys(self, expr: ast.expr, scope: Scope) -> bool:
        if isinstance(expr, ast.Dict):
            return all(k is not None and self.is_constant(k, scope) for k in expr.keys)
        if isinstance(expr, ast.Name) and scope.function is not None:
            values = [
                node.value
                for node in ast.walk(scope.function)
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
            ]
            module_values = scope.module.assignments.get(expr.id, [])
            return bool(values or module_values) and all(self._constant_keys(v, scope) for v in values + module_values)
        return False


def check_project(
    root: Path, packages: tuple[str, ...] = ("tasks", "tongket", "flows", "schemas")
) -> tuple[list[Finding], int]:
    """Findings over the project, and how many SQL sites were checked."""
    analyzer = Analyzer(root, packages)
    findings = analyzer.check()
    return findings, len(analyzer.sites)


def check_source(source: str, name: str = "snippet") -> list[Finding]:
    """Findings over one module's source (for testing the checker itself)."""
    analyzer = Analyzer(Path("."), ())
    analyzer.add_module(name, Path(f"{name}.py"), source)
    return analyzer.check()
