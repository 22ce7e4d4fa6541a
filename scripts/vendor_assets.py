"""Vendor front-end assets from the npm registry into the gateway's static folder.

The dashboard and the API docs run offline under a strict CSP, so their third-party scripts
and styles are served by the gateway itself. This script fetches a named npm package's tarball
from registry.npmjs.org, checks it against the registry's sha512 `integrity`, copies only the
named files (plus the package's licence) into
services/gateway/ollamon_gateway/static/vendor/<package>/ (flat: each file under its own name)
and records name, version, tarball URL, integrity and each file's source path and sha256 in
static/vendor/vendor.lock.json.

python scripts/vendor_assets.py add uplot@1.6.32 dist/uPlot.iife.min.js dist/uPlot.min.css
python scripts/vendor_assets.py --check    # exit 1 if the vendored files differ from the lock
python scripts/vendor_assets.py --refetch  # download every locked tarball again and compare

`add` replaces the package's earlier entry and files. Paths are relative to the package root
(the tarball's `package/` folder); the vendored copy drops their folders (a `dist/` folder
would be ignored by git), so two wanted files may not share a name.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "services" / "gateway" / "ollamon_gateway" / "static" / "vendor"
LOCK_NAME = "vendor.lock.json"
REGISTRY = "https://registry.npmjs.org"
# The licence file looked for inside each npm package's tarball (it is vendored beside the code).
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license", "license.md")
TIMEOUT_S = 60


class VendorError(Exception):
    """A tarball, a file or the lock is not what it should be."""


@dataclass(frozen=True)
class Release:
    """One version of an npm package as the registry describes it."""

    name: str
    version: str
    tarball: str
    integrity: str


def folder_name(package: str) -> str:
    """The vendor folder of a package: `@scope/name` becomes `scope-name`."""
    return package.removeprefix("@").replace("/", "-")


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def check_integrity(data: bytes, integrity: str) -> None:
    """Raise unless `data` matches an npm `sha512-<base64>` integrity string."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"unsupported integrity {algorithm!r} (only sha512)")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise VendorError(f"tarball integrity mismatch: registry {expected}, downloaded {actual}")


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise VendorError(f"not a path inside the package: {path!r}")
    return relative


def tarball_files(data: bytes) -> dict[str, bytes]:
    """The regular files of an npm tarball by their path under the package root."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = PurePosixPath(member.name).parts
            extracted = archive.extractfile(member)
            if len(parts) < 2 or extracted is None:
                continue
            files[str(PurePosixPath(*parts[1:]))] = extracted.read()
    return files


def pick_files(files: dict[str, bytes], wanted: list[str]) -> dict[str, tuple[str, bytes]]:
    """The wanted files plus the package's licence, by vendored name: (source path, content).

    Raises if one is missing or two share a name."""
    licence = next((name for name in LICENSE_NAMES if name in files), None)
    if licence is None:
        raise VendorError("the package has no LICENSE file at its root")
    picked: dict[str, tuple[str, bytes]] = {}
    for path in [*wanted, licence]:
        relative = _safe_relative(path)
        if str(relative) not in files:
            raise VendorError(f"{relative} is not in the package")
        if relative.name in picked:
            raise VendorError(f"two files named {relative.name}")
        picked[relative.name] = (str(relative), files[str(relative)])
    return picked


def read_lock(vendor: Path) -> dict[str, dict[str, object]]:
    """The lock's packages by name (empty when there is no lock yet)."""
    path = vendor / LOCK_NAME
    if not path.exists():
        return {}
    packages: dict[str, dict[str, object]] = json.loads(path.read_text())["packages"]
    return packages


def write_lock(vendor: Path, packages: dict[str, dict[str, object]]) -> None:
    """Write the lock, packages sorted by name."""
    body = {
        "comment": "Written by scripts/vendor_assets.py; checked by its --check and by tests.",
        "packages": dict(sorted(packages.items())),
    }
    vendor.mkdir(parents=True, exist_ok=True)
    (vendor / LOCK_NAME).write_text(json.dumps(body, indent=2) + "\n")


def install(
    vendor: Path, release: Release, data: bytes, wanted: list[str]
) -> dict[str, dict[str, str]]:
    """Check a downloaded tarball, copy the wanted files and record them in the lock."""
    check_integrity(data, release.integrity)
    picked = pick_files(tarball_files(data), wanted)
    target = vendor / folder_name(release.name)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, (_, content) in picked.items():
        (target / name).write_bytes(content)
    hashes = {
        name: {"from": source, "sha256": sha256(content)}
        for name, (source, content) in sorted(picked.items())
    }
    packages = read_lock(vendor)
    packages[release.name] = {
        "version": release.version,
        "tarball": release.tarball,
        "integrity": release.integrity,
        "folder": folder_name(release.name),
        "files": hashes,
    }
    write_lock(vendor, packages)
    return hashes


def check(vendor: Path) -> list[str]:
    """What differs between the vendored files and the lock (empty when they match)."""
    problems: list[str] = []
    packages = read_lock(vendor)
    expected: set[Path] = {vendor / LOCK_NAME}
    for name, entry in packages.items():
        folder = vendor / str(entry["folder"])
        files = entry["files"]
        assert isinstance(files, dict)
        for file_name, locked in files.items():
            path = folder / file_name
            expected.add(path)
            if not path.is_file():
                problems.append(f"{name}: {file_name} is missing")
            elif sha256(path.read_bytes()) != locked["sha256"]:
                problems.append(f"{name}: {file_name} differs from the lock")
    if vendor.exists():
        for path in sorted(vendor.rglob("*")):
            if path.is_file() and path not in expected:
                problems.append(f"{path.relative_to(vendor)} is not in the lock")
    return problems


def _get(url: str) -> bytes:
    if not url.startswith("https://"):
        raise VendorError(f"refusing a non-https URL: {url}")
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (https only)
        data: bytes = response.read()
    return data


def release(spec: str) -> Release:
    """Ask the registry for `name@version` (a version is required: no ranges, no tags)."""
    name, at, version = spec.rpartition("@")
    if not at or not name or not version:
        raise VendorError(f"give name@version, not {spec!r}")
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    dist = meta["dist"]
    return Release(name, meta["version"], dist["tarball"], dist["integrity"])


def refetch(vendor: Path) -> list[str]:
    """Download every locked tarball again; what differs from the vendored files."""
    problems: list[str] = []
    for name, entry in read_lock(vendor).items():
        data = _get(str(entry["tarball"]))
        try:
            check_integrity(data, str(entry["integrity"]))
        except VendorError as error:
            problems.append(f"{name}: {error}")
            continue
        files = tarball_files(data)
        locked = entry["files"]
        assert isinstance(locked, dict)
        for file_name, source in locked.items():
            content = files.get(source["from"])
            if content is None or sha256(content) != source["sha256"]:
                problems.append(f"{name}: {file_name} is not the registry's file")
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["add"] and len(argv) >= 3:
        found = release(argv[1])
        hashes = install(VENDOR, found, _get(found.tarball), argv[2:])
        print(f"vendored {found.name}@{found.version}: {', '.join(hashes)}")
        return 0
    if argv in (["--check"], ["--refetch"]):
        problems = check(VENDOR) if argv == ["--check"] else refetch(VENDOR)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
