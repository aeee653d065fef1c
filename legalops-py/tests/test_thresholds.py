"""Runbook figures grade in Python exactly as the core grades them."""

import math

import pytest

import legalops
from legalops import InvalidInputError, LegalOpsError, Status


@pytest.mark.parametrize(
    ("name", "value", "status", "meets_target"),
    [
        ("response_time_avg_ms", 150, Status.PASS, True),
        ("response_time_avg_ms", 600, Status.WARN, False),
        ("response_time_avg_ms", 2500, Status.FAIL, False),
        ("error_rate_percent", 0.5, Status.PASS, True),
        ("error_rate_percent", 3.0, Status.WARN, False),
        ("error_rate_percent", 5.1, Status.FAIL, False),
        ("memory_percent", 91, Status.FAIL, False),
        ("disk_percent", 86, Status.WARN, False),
        ("cache_hit_rate_percent", 97, Status.PASS, True),
        ("cache_hit_rate_percent", 90, Status.WARN, False),
        ("certificate_days_remaining", 3, Status.FAIL, False),
    ],
)
def test_runbook_figures_grade_as_the_runbook_says(name, value, status, meets_target):
    g = legalops.grade(name, value)
    assert g["status"] is status
    assert g["meets_target"] is meets_target
    assert g["value"] == value
    assert g["target"] == legalops.threshold(name)["target"]


def test_no_measurement_is_a_warning_not_an_outage():
    g = legalops.grade("query_time_avg_ms", math.nan)
    assert g["status"] is Status.WARN and g["meets_target"] is False


def test_unknown_threshold_is_invalid_input_naming_it():
    with pytest.raises(InvalidInputError, match="latency_p99") as e:
        legalops.grade("latency_p99", 1.0)
    assert isinstance(e.value, LegalOpsError)
    assert e.value.field == "name"
    assert "response_time_avg_ms" in str(e.value)  # lists the known names
    with pytest.raises(InvalidInputError):
        legalops.threshold("latency_p99")


def test_thresholds_list_every_figure_with_its_levels():
    ts = legalops.thresholds()
    by_name = {t["name"]: t for t in ts}
    assert len(by_name) == len(ts) == 12
    assert by_name["response_time_avg_ms"] == {
        "name": "response_time_avg_ms",
        "unit": "ms",
        "direction": "higher_is_worse",
        "target": 200.0,
        "warning": 500.0,
        "critical": 2000.0,
    }
    assert by_name["uptime_percent"]["direction"] == "lower_is_worse"
    assert by_name["uptime_percent"]["critical"] is None
    for t in ts:
        legalops.grade(t["name"], t["target"])  # every listed name grades
