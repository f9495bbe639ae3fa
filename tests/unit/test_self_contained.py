"""The repository documents itself: no reference to design documents outside it.

A clone has only this repository, so nothing in it may point at documents that live
elsewhere (the former ``../shared/docs/SPEC.md`` and friends); the product documentation
is ``docs/``. Also: every relative markdown link of ``README.md``, ``docs/`` and
``benchmarks/README.md`` resolves to a file in the repository, and the README stays short.

Files checked: those ``git ls-files`` lists (tracked, plus new files not ignored), text
only (a file with a NUL byte in its first 8 KB is binary and skipped), except this file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()
README_MAX_LINES = 250

# (what it is, pattern); matched line by line
FORBIDDEN = [
    ("path outside the repository", re.compile(r"\.\./shared")),
    ("shared design documents", re.compile(r"shared/(docs|data|seeds)\b")),
    ("spec section reference", re.compile(r"SPEC\s*§")),
    ("the spec as a document name", re.compile(r"(?<![\w.-])SPEC(?![\w-])")),
    ("external design document", re.compile(r"\b(UPTREND_ENGINE|GRID|STACK|STYLE)\.md\b")),
    ("external design note", re.compile(r"\b(seed )?notes? 00[0-4]\b")),
]

MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def repo_files() -> list[Path]:
    """Tracked files plus new, not ignored ones (relative to PROJECT), existing on disk.

    Outside a git checkout (an unpacked archive) every file below PROJECT, less the
    build and environment folders of .gitignore."""
    if shutil.which("git") is None or not (PROJECT / ".git").exists():
        skip = {
            ".git",
            ".venv",
            "target",
            "logs",
            "warehouse",
            "reports",
            "exports",
            ".dagster",
            ".hypothesis",
            ".pytest_cache",
            "__pycache__",
            "dbt_packages",
        }
        return sorted(
            p
            for p in PROJECT.rglob("*")
            if p.is_file()
            and not skip & set(p.relative_to(PROJECT).parts)
            and not any(part.endswith(".egg-info") for part in p.relative_to(PROJECT).parts)
        )
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        check=True,
    ).stdout
    names = sorted({n for n in out.decode("utf-8", "surrogateescape").split("\0") if n})
    return [PROJECT / n for n in names if (PROJECT / n).is_file()]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_reference_to_documents_outside_the_repository():
    offending = []
    for path in repo_files():
        if path.resolve() == THIS:
            continue
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for what, pattern in FORBIDDEN:
                if pattern.search(line):
                    offending.append(f"{path.relative_to(PROJECT)}:{number}: {what}: {line.strip()[:160]}")
                    break
    assert not offending, (
        f"{len(offending)} reference(s) to documents outside the repository; point them at the "
        "matching docs/ page instead:\n" + "\n".join(offending)
    )


def markdown_pages() -> list[Path]:
    pages = [PROJECT / "README.md", PROJECT / "benchmarks" / "README.md"]
    pages += sorted((PROJECT / "docs").rglob("*.md"))
    return [p for p in pages if p.is_file()]


def test_relative_markdown_links_resolve():
    assert (PROJECT / "docs").is_dir(), "docs/ is missing"
    broken = []
    for page in markdown_pages():
        in_code = False
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            if in_code:
                continue
            for target in MD_LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I) or target.startswith("#"):
                    continue  # http(s):, mailto:, ... and anchors within the page
                path = target.split("#", 1)[0].split("?", 1)[0]
                resolved = (page.parent / path).resolve()
                if not resolved.exists() or PROJECT.resolve() not in (resolved, *resolved.parents):
                    broken.append(f"{page.relative_to(PROJECT)}:{number}: ]({target}) does not resolve")
    assert not broken, "broken relative links:\n" + "\n".join(broken)


def test_readme_is_short():
    lines = (PROJECT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move details to docs/"
    )


def test_readme_points_to_docs_and_keeps_the_screenshot():
    readme = (PROJECT / "README.md").read_text()
    assert "](docs/README.md)" in readme or "](docs/)" in readme
    assert "docs/img/dashboard.png" in readme
    assert (PROJECT / "LICENSE").is_file()


def test_the_file_list_covers_the_repository():
    names = {p.relative_to(PROJECT).as_posix() for p in repo_files()}
    assert {"README.md", "LICENSE", "docs/README.md", "dbt_project.yml", "tests/unit/test_self_contained.py"} <= names
    assert not any(n.startswith((".venv/", ".git/", "target/")) for n in names)
