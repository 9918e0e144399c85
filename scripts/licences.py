#!/usr/bin/env python3
"""Third-party licences: writes THIRD-PARTY-NOTICES.md and checks the licence policy.

    python3 scripts/licences.py            # rewrite THIRD-PARTY-NOTICES.md
    python3 scripts/licences.py --check    # fail if a dependency breaks the policy or the
                                           # notice is out of date (tests/licences.rs runs this)

The crates are every normal and build dependency of fstop, on every platform (from
`cargo metadata`; dev-dependencies are not shipped and not listed). The ONNX Runtime library
and the models `fstop setup` / `scripts/setup.sh` install come from models/catalog.toml.

Policy: every crate must be usable under permissive licences only. A licence expression is
read as SPDX (`A OR B`, `A AND B`, parentheses, `WITH` exceptions; the old `A/B` means OR)
and passes when some choice among its alternatives uses only licences in PERMISSIVE. A
copyleft licence (GPL, LGPL, AGPL, MPL, EPL, EUPL, CDDL, OSL, CC-BY-SA) or any unknown one can
only pass as an alternative to a permissive one. Standard library only.
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ROOT / "THIRD-PARTY-NOTICES.md"
CATALOG = ROOT / "models" / "catalog.toml"

PERMISSIVE = {
    "0BSD",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "IJG",
    "ISC",
    "MIT",
    "MIT-0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "Zlib",
}
COPYLEFT = re.compile(r"^(A?GPL|LGPL|MPL|EPL|EUPL|CDDL|OSL|CC-BY-SA)", re.IGNORECASE)


class LicenceError(Exception):
    pass


def tokens(expression):
    """SPDX tokens; `A/B` (old Cargo style) is `A OR B`."""
    spaced = expression.replace("(", " ( ").replace(")", " ) ").replace("/", " OR ")
    return spaced.split()


def parse(expression):
    """The expression as a list of alternatives, each a set of licences all of which apply."""
    toks = tokens(expression)
    pos = 0

    def atom():
        nonlocal pos
        if pos >= len(toks):
            raise LicenceError(f"licence expression '{expression}' ends early")
        tok = toks[pos]
        pos += 1
        if tok == "(":
            alternatives = disjunction()
            if pos >= len(toks) or toks[pos] != ")":
                raise LicenceError(f"licence expression '{expression}' misses ')'")
            pos += 1
            return alternatives
        if tok in ("AND", "OR", "WITH", ")"):
            raise LicenceError(f"licence expression '{expression}' has '{tok}' out of place")
        if pos + 1 < len(toks) and toks[pos] == "WITH":
            tok = f"{tok} WITH {toks[pos + 1]}"
            pos += 2
        return [frozenset([tok])]

    def conjunction():
        nonlocal pos
        alternatives = atom()
        while pos < len(toks) and toks[pos] == "AND":
            pos += 1
            right = atom()
            alternatives = [a | b for a in alternatives for b in right]
        return alternatives

    def disjunction():
        nonlocal pos
        alternatives = conjunction()
        while pos < len(toks) and toks[pos] == "OR":
            pos += 1
            alternatives = alternatives + conjunction()
        return alternatives

    alternatives = disjunction()
    if pos != len(toks):
        raise LicenceError(f"licence expression '{expression}' has trailing '{toks[pos]}'")
    return alternatives


def permitted(expression):
    """True when some alternative of the expression uses only permissive licences."""
    return any(all(lic in PERMISSIVE for lic in alt) for alt in parse(expression))


def why_not(expression):
    """A short reason an expression fails the policy."""
    licences = sorted({lic for alt in parse(expression) for lic in alt} - PERMISSIVE)
    copyleft = [lic for lic in licences if COPYLEFT.match(lic)]
    if copyleft:
        return "copyleft (" + ", ".join(copyleft) + ") with no permissive alternative"
    return "not on the permissive list (" + ", ".join(licences) + ")"


def shipped_crates():
    """Every normal or build dependency of the root package, on every platform."""
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    meta = json.loads(out)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds - {"dev"} and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    crates = [packages[i] for i in seen]
    return sorted(crates, key=lambda p: (p["name"], p["version"]))


def catalog_entries():
    """The runtime and models fstop installs: (name, package, licence note, upstream)."""
    catalog = tomllib.loads(CATALOG.read_text())
    rows = []
    runtime = catalog["runtime"]
    rows.append(
        (
            "ONNX Runtime " + runtime["version"],
            runtime["source"]["package"],
            "MIT",
            runtime["source"].get("upstream", ""),
        )
    )
    for name, model in sorted(catalog.get("model", {}).items()):
        source = model.get("source", {})
        title = model.get("title", name)
        # Titles read "Name (authors year), LICENCE[; remarks]".
        licence = re.search(r"\), ([A-Za-z0-9.+-]+)", title)
        rows.append(
            (
                title,
                source.get("package", "not installed by fstop (users supply it)"),
                licence.group(1) if licence else "see upstream",
                source.get("upstream", ""),
            )
        )
    return rows


def notice(crates):
    lines = [
        "# Third-party notices",
        "",
        "Generated by `python3 scripts/licences.py`; `cargo test` (tests/licences.rs) fails",
        "when it is out of date. fstop itself is MIT OR Apache-2.0.",
        "",
        "## Rust crates compiled into fstop",
        "",
        "Every normal and build dependency, on every platform. Each is used under the licence",
        "expression its package declares; the full texts ship with each crate's source.",
        "",
        "| crate | version | licence | source |",
        "|---|---|---|---|",
    ]
    for p in crates:
        lines.append(
            f"| {p['name']} | {p['version']} | {p.get('license') or 'none declared'} "
            f"| {p.get('repository') or ''} |"
        )
    lines += [
        "",
        "## Installed beside fstop (not compiled in)",
        "",
        "Fetched from package registries by `fstop setup` / `scripts/setup.sh`, each under its",
        "own package's licence.",
        "",
        "| what | package | licence | upstream |",
        "|---|---|---|---|",
    ]
    for row in catalog_entries():
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def violations(crates):
    bad = []
    for p in crates:
        expression = p.get("license")
        where = f"{p['name']} {p['version']}"
        if not expression:
            bad.append(f"{where}: declares no SPDX licence")
            continue
        try:
            if not permitted(expression):
                bad.append(f"{where}: '{expression}' is {why_not(expression)}")
        except LicenceError as e:
            bad.append(f"{where}: {e}")
    return bad


def main(argv):
    check = "--check" in argv[1:]
    crates = shipped_crates()
    bad = violations(crates)
    for line in bad:
        print(f"error: licence policy: {line}", file=sys.stderr)
    text = notice(crates)
    if check:
        if not NOTICE.exists() or NOTICE.read_text() != text:
            print(
                "error: THIRD-PARTY-NOTICES.md is out of date: run python3 scripts/licences.py",
                file=sys.stderr,
            )
            return 1
    else:
        NOTICE.write_text(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
