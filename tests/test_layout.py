"""The package layout keeps its promises: no import cycle, kernels import only kernels, dask uses
public hooks only, files stay small (seeded results are pinned in test_pinned_outputs.py)."""
import ast
import os

import fastdgm

_PKG = os.path.dirname(os.path.abspath(fastdgm.__file__))


def _modules() -> dict:
    """Dotted module name -> path, for every .py file of the package."""
    out = {}
    for root, _, files in os.walk(_PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, os.path.dirname(_PKG))[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return out


def _imported(name: str, path: str, node) -> set:
    """Package modules (and module.attribute names) an import statement refers to."""
    pkg = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    if node.level:
        base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    return {mod} | {f"{mod}.{a.name}" for a in node.names}


def _type_checking_only(node) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): a block that never runs."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (getattr(test, "id", None) == "TYPE_CHECKING"
                                         or getattr(test, "attr", None) == "TYPE_CHECKING")


def _all_imports(tree):
    """Every import statement that can run: module level, in functions and classes, deferred
    ones included; the bodies of ``if TYPE_CHECKING:`` left out."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                todo.extend(child.orelse)
            else:
                todo.append(child)


def _deps(top_level_only: bool) -> dict:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(open(path, encoding="utf-8").read())
        nodes = tree.body if top_level_only else list(_all_imports(tree))
        found = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found |= _imported(name, path, node)
        graph[name] = {d for d in found if d in mods and d != name}
    return graph


def _assert_acyclic(graph: dict) -> None:
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [n, m]))
            if m not in state:
                visit(m, stack + [n])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])


def test_no_import_cycle_at_import_time():
    _assert_acyclic(_deps(top_level_only=True))


def test_no_import_cycle_deferred_imports_included():
    """The graph of every import, those inside functions included (a deferred import still
    ties the two modules together), has no cycle."""
    graph = _deps(top_level_only=False)
    assert "fastdgm.table" in graph["fastdgm"]            # the walk does see function-level imports
    _assert_acyclic(graph)


def test_the_cycle_check_finds_a_deferred_cycle():
    tree = ast.parse("import os\nif TYPE_CHECKING:\n    from .b import B\ndef f():\n    from .c import C\n")
    assert [ast.unparse(n) for n in _all_imports(tree)] in (
        ["import os", "from .c import C"], ["from .c import C", "import os"])
    try:
        _assert_acyclic({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    except AssertionError as exc:
        assert "a -> b -> c -> a" in str(exc)
    else:
        raise AssertionError("the cycle a -> b -> c -> a was not found")


def test_kernels_import_only_kernels():
    for name, deps in _deps(top_level_only=False).items():
        if name.startswith("fastdgm.kernels"):
            bad = {d for d in deps if not d.startswith("fastdgm.kernels")}
            assert not bad, f"{name} imports {bad}: kernels import only kernels"


def test_dask_uses_no_private_name_of_another_module():
    tree = ast.parse(open(os.path.join(_PKG, "dask.py"), encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            raise AssertionError(f"fastdgm/dask.py:{node.lineno} uses the private attribute .{node.attr}")
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"fastdgm/dask.py:{node.lineno} imports private names {private}"


def test_files_stay_small():
    # one concept per file keeps each hot path and each model findable (the .pyx aside)
    one_concept = {"cli.py"}   # the command line: one argparse table per subcommand
    for path in _modules().values():
        n = sum(1 for _ in open(path, encoding="utf-8"))
        if os.path.basename(path) not in one_concept:
            assert n <= 450, f"{path} has {n} lines"


def test_the_hooks_that_replace_the_cycles_work_in_a_fresh_process():
    """Without the deferred imports: a table reaches fastdgm.table through the hook the package
    registers (fastdgm.table not imported beforehand), and gibbs refuses a non-MRF before
    models.mrf was ever imported."""
    from isolated import assert_clean_exit, run_python

    proc = run_python("""
        import sys
        import fastdgm.mcmc
        assert "fastdgm.models.mrf" not in sys.modules and "fastdgm.table" not in sys.modules
        try:
            fastdgm.mcmc.gibbs(object(), 1, 1)
        except TypeError as exc:
            assert "must be a PairwiseMRF" in str(exc), exc
        else:
            raise AssertionError("gibbs took an object")
        from fastdgm.models._contract import table_model
        try:
            import pandas as pd
        except ImportError:
            print("no pandas")
            raise SystemExit(0)
        import fastdgm as fd
        tm = fd.Factorized.fit(pd.DataFrame({"a": ["x", "y", "x"], "b": [1, 2, 2]}))
        assert type(tm) is table_model() and type(tm).__module__ == "fastdgm.table.model", type(tm)
        print("ok")
    """)
    assert_clean_exit(proc)
    assert proc.stdout.strip() in ("ok", "no pandas")
