"""Every dbt var the project reads is declared once, in dbt_project.yml (with a comment),
and no model or macro repeats a declared var's value as a default of its own."""

import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
VAR_CALL = re.compile(r"""\bvar\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*(,\s*([^)]*))?\)""")
FOLDERS = ("models", "macros", "python_models", "tests/dbt", "analyses")


def _calls() -> list[tuple[str, str, str | None]]:
    out = []
    for folder in FOLDERS:
        for path in sorted((PROJECT / folder).rglob("*")):
            if path.suffix in (".sql", ".yml", ".yaml", ".py"):
                for m in VAR_CALL.finditer(path.read_text()):
                    out.append((str(path.relative_to(PROJECT)), m.group(1), m.group(3)))
    return out


def _declared() -> dict:
    return yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]


def test_every_var_used_is_declared_in_dbt_project():
    declared = _declared()
    missing = sorted({(name, path) for path, name, _ in _calls() if name not in declared})
    assert not missing, f"vars used but not declared in dbt_project.yml: {missing}"


def test_declared_vars_carry_no_second_default():
    """A default in var('x', default) for a declared var would be a second place for its
    value; only `none` is tolerated (macros rendered outside dbt, e.g. by the landing tests)."""
    declared = _declared()
    repeated = sorted(
        (path, name, default.strip())
        for path, name, default in _calls()
        if name in declared and default is not None and default.strip() not in ("none", "None")
    )
    assert not repeated, f"declared vars given a default again: {repeated}"


def test_every_declared_var_is_used_and_commented():
    used = {name for _, name, _ in _calls()}
    text = (PROJECT / "dbt_project.yml").read_text()
    orchestration = "\n".join(p.read_text() for p in (PROJECT / "orchestration").rglob("*.py"))
    for name in _declared():
        assert name in used or f'"{name}"' in orchestration, f"var {name} is declared but never read"
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if re.match(rf"  {name}:", line))
        # a var shares the comment block of the vars just above it (a group of related vars)
        while at > 0 and re.match(r"  [A-Za-z_]|    ", lines[at - 1]) and "#" not in lines[at]:
            at -= 1
        assert lines[at - 1].strip().startswith("#") or "#" in lines[at], f"var {name} has no comment"
