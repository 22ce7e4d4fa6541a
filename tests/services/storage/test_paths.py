"""Keeping files inside their folder, private and never overwritten (real temporary folders,
symlinks and modes read back by stat)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ollamon_storage.paths import (
    FileNameError,
    PathOutsideError,
    confined_path,
    open_new_file,
    private_file,
    private_folder,
    shown,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
        os.close(open_new_file(target))
    assert not (tmp_path / "elsewhere.json").exists()


def test_a_new_file_is_private_and_an_existing_one_is_never_opened(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    os.close(open_new_file(target))
    assert mode(target) == 0o600
    target.write_text("kept")
    with pytest.raises(FileExistsError):
        os.close(open_new_file(target))
    assert target.read_text() == "kept"


def test_folders_are_created_private_and_existing_ones_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    private_folder(loose)
    private_folder(tmp_path / "new" / "deeper")
    assert mode(loose) == mode(tmp_path / "new") == mode(tmp_path / "new" / "deeper") == 0o700
    confined_path(tmp_path / "exports", "a/b/c.json", "d")
    assert {mode(tmp_path / "exports" / part) for part in ("", "a", "a/b")} == {0o700}


def test_a_database_file_and_its_side_files_are_made_private(tmp_path: Path) -> None:
    database = tmp_path / "ollamon.db"
    private_file(database)
    assert mode(database) == 0o600
    for side in ("-wal", "-shm"):
        (tmp_path / f"ollamon.db{side}").touch(mode=0o644)
    database.chmod(0o644)
    private_file(database)
    assert {
        mode(tmp_path / name) for name in ("ollamon.db", "ollamon.db-wal", "ollamon.db-shm")
    } == {0o600}


def test_a_name_part_too_long_for_the_file_system_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNameError, match="at most 100 bytes"):
        confined_path(tmp_path, "x" * 256, "d")
    with pytest.raises(FileNameError):
        confined_path(tmp_path, "ä" * 60, "d")  # 120 bytes in UTF-8


def test_paths_are_shown_relative_to_the_storage_path(tmp_path: Path) -> None:
    inside = tmp_path.resolve() / "exports" / "a.json"
    assert shown(inside, tmp_path.resolve()) == "exports/a.json"
    assert shown(Path("/elsewhere/b.json"), tmp_path) == "b.json"


def test_refusals_name_no_absolute_path(tmp_path: Path) -> None:
    for requested in ("../x", "/etc/passwd", "x" * 300, "."):
        with pytest.raises(ValueError) as refused:
            confined_path(tmp_path / "exports", requested, "d")
        assert str(tmp_path) not in str(refused.value)
