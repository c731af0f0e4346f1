"""The emulator decides from its own model of Atlas: it imports nothing of the product's judgement."""
import ast
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "sp_tasks" / "emulator"
# The product's planning, deploy and validation code, and the vocabularies they rely on.
FORBIDDEN = ("sp_tasks.planning", "sp_tasks.deploy", "sp_tasks.validation", "sp_tasks.pipeline_rules",
             "sp_tasks.stage_rules", "sp_tasks.stage_findings", "sp_tasks.schema_check", "sp_tasks.diagnostics",
             "sp_tasks.desired", "sp_tasks.secrets", "sp_tasks.model", "sp_tasks.tiers")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_emulator_module_imports_the_products_rules():
    found = {(path.relative_to(EMULATOR).as_posix(), name) for path in EMULATOR.rglob("*.py")
             for name in _imports(path) if name.startswith(FORBIDDEN)}
    assert found == set()
