"""Reading an export back in chunks: only regular files inside the export folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollamon_storage.export_files import (
    ExportFileError,
    ExportFileOutsideError,
    export_file,
    read_chunk,
)


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    """A storage folder with an export, the database beside it and a symlink pointing out."""
    exports = tmp_path / "exports"
    (exports / "deep").mkdir(parents=True)
    (exports / "deep" / "all.json").write_bytes(b"0123456789")
    (tmp_path / "ollamon.db").write_bytes(b"SQLite format 3\x00")
    (exports / "out.json").symlink_to(tmp_path / "ollamon.db")
    return tmp_path


def test_chunks_come_from_their_offset_with_the_whole_size(storage_root: Path) -> None:
    file = export_file(storage_root, storage_root / "exports", "exports/deep/all.json")
    assert (read_chunk(file, 0, 4).data, read_chunk(file, 0, 4).size) == (b"0123", 10)
    assert read_chunk(file, 8, 4).data == b"89"  # fewer at the end
    assert read_chunk(file, 10, 4).data == b""


@pytest.mark.parametrize(
    "path", ["ollamon.db", "exports/out.json", "exports/../ollamon.db", "exports", "/etc/passwd"]
)
def test_a_path_that_leaves_the_export_folder_is_refused(storage_root: Path, path: str) -> None:
    with pytest.raises(ExportFileOutsideError):
        export_file(storage_root, storage_root / "exports", path)


def test_a_missing_file_or_a_folder_is_not_an_export(storage_root: Path) -> None:
    for path in ("exports/none.json", "exports/deep"):
        with pytest.raises(ExportFileError) as refused:
            export_file(storage_root, storage_root / "exports", path)
        assert refused.value.status_code == 404


def test_a_symlink_swapped_in_after_the_check_is_not_followed(storage_root: Path) -> None:
    file = export_file(storage_root, storage_root / "exports", "exports/deep/all.json")
    file.unlink()
    file.symlink_to(storage_root / "ollamon.db")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        read_chunk(file, 0, 16)
