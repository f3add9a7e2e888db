"""The per-module table of a `mutmut run` (`make mutation`), as Markdown on stdout.

Reads mutmut's results under `mutants/` and `bench/mutation-equivalent.txt` (one mutant a line, then
`#` and why it changes nothing a reader or operator could see). The score of a module is its killed
mutants over its mutants that are not equivalent; a timeout counts as killed (the tests noticed).
"""

import json
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mutmut.stats import status_by_exit_code  # noqa: E402 (reads pyproject.toml's [tool.mutmut])

EQUIVALENT = ROOT / "bench" / "mutation-equivalent.txt"


def equivalents() -> dict[str, str]:
    """Mutant name -> why it is equivalent."""
    found = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else []:
        name, _, why = line.partition("#")
        if name.strip():
            found[name.strip()] = why.strip()
    return found


def results() -> dict[str, dict[str, str]]:
    """Module -> mutant name -> status, from every `.meta` file mutmut wrote."""
    by_module: dict[str, dict[str, str]] = defaultdict(dict)
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            by_module[module][name] = "killed" if status == "timeout" else status
    return by_module


def main() -> int:
    known = equivalents()
    rows, survivors = [], []
    for module, mutants in results().items():
        counts = Counter(
            "equivalent" if status == "survived" and name in known else status for name, status in mutants.items()
        )
        scored = len(mutants) - counts["equivalent"]
        score = 100 * counts["killed"] / scored if scored else 100.0
        other = len(mutants) - counts["killed"] - counts["survived"] - counts["equivalent"]
        rows.append(
            f"| `{module}` | {len(mutants)} | {counts['killed']} | {counts['survived']} | "
            f"{counts['equivalent']} | {other} | {score:.1f} % |"
        )
        survivors += [name for name, status in mutants.items() if status == "survived" and name not in known]
    print(f"`make mutation`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mutmut {version('mutmut')}, tests on SQLite")
    print("(a mutant whose only killer needs PostgreSQL, such as a row lock, survives here).\n")
    print("| module | mutants | killed | survived | equivalent | other | killed of non-equivalent |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nSurvivors not marked equivalent: {len(survivors)}")
    for name in survivors:
        print(f"- `{name}` (`mutmut show {name}`)")
    print(f"\nEquivalent mutants ({len(known)}, from bench/mutation-equivalent.txt):")
    for name, why in known.items():
        print(f"- `{name}`: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
