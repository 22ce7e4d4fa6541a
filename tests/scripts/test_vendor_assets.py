"""Vendored front-end assets are the npm registry's files, as recorded in the lock."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from scripts.vendor_assets import VENDOR, Release, VendorError, check, install, read_lock

ROOT = Path(__file__).resolve().parents[2]


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _release(data: bytes) -> Release:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return Release("@scope/chart", "1.2.3", "https://registry.example/chart-1.2.3.tgz", integrity)


PACKAGE = {
    "LICENSE": b"MIT",
    "dist/chart.min.js": b"var chart = 1;",
    "dist/chart.css": b".chart{}",
    "src/chart.js": b"export const chart = 1;",
}


def test_the_vendored_files_match_the_lock() -> None:
    assert "uplot" in read_lock(VENDOR)
    assert check(VENDOR) == []
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_copies_only_the_named_files_and_the_licence_and_locks_them(
    tmp_path: Path,
) -> None:
    data = _tarball(PACKAGE)
    install(tmp_path, _release(data), data, ["dist/chart.min.js"])
    folder = tmp_path / "scope-chart"
    assert sorted(path.name for path in folder.iterdir()) == ["LICENSE", "chart.min.js"]
    entry = read_lock(tmp_path)["@scope/chart"]
    assert entry["version"] == "1.2.3"
    assert entry["integrity"] == _release(data).integrity
    assert entry["files"] == {
        "LICENSE": {"from": "LICENSE", "sha256": hashlib.sha256(b"MIT").hexdigest()},
        "chart.min.js": {
            "from": "dist/chart.min.js",
            "sha256": hashlib.sha256(b"var chart = 1;").hexdigest(),
        },
    }
    assert check(tmp_path) == []


def test_install_refuses_a_tarball_that_does_not_match_the_registry_integrity(
    tmp_path: Path,
) -> None:
    data = _tarball(PACKAGE)
    tampered = _tarball({**PACKAGE, "dist/chart.min.js": b"steal()"})
    with pytest.raises(VendorError, match="integrity"):
        install(tmp_path, _release(data), tampered, ["dist/chart.min.js"])
    assert not (tmp_path / "scope-chart").exists()


@pytest.mark.parametrize("path", ["../escape.js", "/etc/passwd", "dist/missing.js"])
def test_install_refuses_a_file_that_is_not_in_the_package(tmp_path: Path, path: str) -> None:
    data = _tarball(PACKAGE)
    with pytest.raises(VendorError):
        install(tmp_path, _release(data), data, [path])


def test_check_names_a_changed_a_missing_and_an_unlisted_file(tmp_path: Path) -> None:
    vendor = tmp_path / "vendor"
    shutil.copytree(VENDOR, vendor)
    (vendor / "uplot" / "uPlot.min.css").write_text("body{}")
    (vendor / "uplot" / "LICENSE").unlink()
    (vendor / "uplot" / "extra.js").write_text("1")
    problems = check(vendor)
    assert "uplot: uPlot.min.css differs from the lock" in problems
    assert "uplot: LICENSE is missing" in problems
    assert str(Path("uplot") / "extra.js") + " is not in the lock" in problems
