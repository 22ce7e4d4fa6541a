"""bootstrap.py's install: what it compiles from source, and how it asks uv for it."""

from __future__ import annotations

from bootstrap import built_from_source, sync_command


def test_the_packages_compiled_from_source_are_those_given_build_variables() -> None:
    assert built_from_source() == ["llama-cpp-python"]


def test_the_dev_install_can_leave_out_a_package_or_stay_offline() -> None:
    online = sync_command(True, "--no-install-package", "llama-cpp-python")
    offline = sync_command(True, "--offline")
    assert online[:2] == offline[:2] == [online[0], "sync"]
    assert "--frozen" in online and "--all-groups" in online
    assert online[-2:] == ["--no-install-package", "llama-cpp-python"]
    assert offline[-1] == "--offline"
    assert "--no-dev" in sync_command(False)
