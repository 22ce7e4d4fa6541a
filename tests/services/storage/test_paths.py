"""Keeping files inside their folder (real temporary folders and symlinks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ollamon_storage.paths import PathOutsideError, confined_path, open_for_write


def test_a_relative_name_lands_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    assert confined_path(folder, "a/b.json", "d.json") == folder.resolve() / "a" / "b.json"
    assert (folder / "a").is_dir()


def test_no_name_picks_the_default(tmp_path: Path) -> None:
    assert confined_path(tmp_path / "e", None, "d.json").name == "d.json"
    assert confined_path(tmp_path / "e", "  ", "d.json").name == "d.json"


def test_an_absolute_path_inside_the_folder_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    inside = str(folder.resolve() / "x.csv")
    assert confined_path(folder, inside, "d") == Path(inside)


@pytest.mark.parametrize("requested", ["..", "../x", "a/../../x", "/etc/passwd", "."])
def test_paths_leaving_the_folder_or_naming_it_are_refused(tmp_path: Path, requested: str) -> None:
    with pytest.raises(PathOutsideError):
        confined_path(tmp_path / "exports", requested, "d")


def test_symlinks_pointing_out_are_refused_and_inside_ones_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "out").symlink_to(tmp_path, target_is_directory=True)
    (folder / "in").symlink_to(folder / "real", target_is_directory=True)
    with pytest.raises(PathOutsideError):
        confined_path(folder, "out/x.json", "d")
    assert confined_path(folder, "in/x.json", "d") == folder.resolve() / "real" / "x.json"


def test_a_nul_byte_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PathOutsideError, match="NUL"):
        confined_path(tmp_path, "a\x00b", "d")


def test_opening_a_symlink_swapped_in_after_the_check_fails(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(OSError):
        os.close(open_for_write(target))
    assert not (tmp_path / "elsewhere.json").exists()
