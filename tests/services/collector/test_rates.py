"""Rates between counter snapshots: units, several devices, resets, first sample."""

from __future__ import annotations

import pytest

from ollamon_collector.rates import IoCounters, bytes_per_second, io_rates


def test_rates_are_megabytes_per_second_for_disks_and_megabits_for_network() -> None:
    before = IoCounters(
        monotonic_seconds=10.0,
        disk_read_bytes={"all": 0},
        disk_write_bytes={"all": 1_000_000},
        network_rx_bytes={"eth0": 0},
        network_tx_bytes={"eth0": 0},
    )
    after = IoCounters(
        monotonic_seconds=12.0,
        disk_read_bytes={"all": 4_000_000},
        disk_write_bytes={"all": 3_000_000},
        network_rx_bytes={"eth0": 2_500_000},
        network_tx_bytes={"eth0": 250_000},
    )
    rates = io_rates(before, after)
    assert rates.disk_read_mbps == pytest.approx(2.0)
    assert rates.disk_write_mbps == pytest.approx(1.0)
    assert rates.network_rx_mbps == pytest.approx(10.0)
    assert rates.network_tx_mbps == pytest.approx(1.0)
    assert rates.network_total_mbps == pytest.approx(11.0)


def test_the_first_sample_has_no_rates() -> None:
    rates = io_rates(None, IoCounters(monotonic_seconds=1.0, disk_read_bytes={"all": 5}))
    assert rates.disk_read_mbps is None
    assert rates.network_rx_mbps is None
    assert rates.network_total_mbps == 0.0


def test_rates_of_several_nics_are_summed() -> None:
    rate = bytes_per_second({"eth0": 100, "wlan0": 1_000}, {"eth0": 300, "wlan0": 1_800}, 2.0)
    assert rate == pytest.approx(500.0)


def test_a_counter_reset_gives_no_rate_instead_of_a_negative_one() -> None:
    assert bytes_per_second({"all": 10_000}, {"all": 200}, 1.0) is None


def test_a_reset_nic_is_left_out_while_the_others_still_count() -> None:
    rate = bytes_per_second({"eth0": 9_000, "eth1": 100}, {"eth0": 50, "eth1": 400}, 1.0)
    assert rate == pytest.approx(300.0)


def test_a_nic_that_appears_or_vanishes_makes_no_spike() -> None:
    appeared = bytes_per_second({"eth0": 100}, {"eth0": 200, "veth1": 10**12}, 1.0)
    vanished = bytes_per_second({"eth0": 100, "veth1": 10**12}, {"eth0": 200}, 1.0)
    assert appeared == pytest.approx(100.0)
    assert vanished == pytest.approx(100.0)


def test_no_elapsed_time_gives_no_rate() -> None:
    assert bytes_per_second({"all": 1}, {"all": 2}, 0.0) is None
