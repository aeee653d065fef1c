"""Health reports parsed from application/health+json grade and answer as the server does."""

import json

import pytest

import legalops
from legalops import CheckResult, HealthReport, InvalidInputError, Status

T = "2026-01-01T00:00:00Z"


def check(status: str, **extra: object) -> dict:
    return {"componentType": "datastore", "status": status, "time": T, **extra}


REPORT = {
    "status": "fail",
    "version": "1.4.2",
    "output": "fail: database:responseTime",
    "checks": {
        "database:responseTime": [
            check("fail", componentId="postgres://app@db/legal", observedValue=2500, observedUnit="ms")
        ],
        "disk:utilization": [{"componentType": "system", "status": "pass", "time": T}],
    },
}


def test_a_failing_report_is_fail_and_answers_503():
    r = HealthReport.from_json(json.dumps(REPORT))
    assert r.status is Status.FAIL
    assert r.http_status == 503
    assert r.version == "1.4.2"
    assert r.checks["database:responseTime"][0]["observedValue"] == 2500
    assert set(r.checks) == {"database:responseTime", "disk:utilization"}


def test_dict_and_text_parse_to_the_same_report_and_round_trip():
    a = HealthReport.from_dict(REPORT)
    b = HealthReport.from_json(json.dumps(REPORT))
    assert a == b
    assert HealthReport.from_json(a.to_json()) == a
    assert a.to_dict() == REPORT


def test_warn_still_answers_200():
    r = HealthReport.from_dict({"status": "warn"})
    assert r.status is Status.WARN and r.http_status == 200
    assert r.checks == {}


def test_from_checks_takes_the_worst_and_names_the_unhealthy():
    r = HealthReport.from_checks(
        {
            "disk:utilization": [check("warn")],
            "database:responseTime": [CheckResult.from_dict(check("fail"))],
            "memory:utilization": [check("pass")],
        }
    )
    assert r.status is Status.FAIL
    assert "database:responseTime" in r.output and "disk:utilization" in r.output
    assert "memory" not in r.output
    assert HealthReport.from_checks({}).status is Status.PASS


def test_status_only_hides_checks_and_details():
    public = HealthReport.from_dict(REPORT).status_only()
    assert public.to_dict() == {"status": "fail"}


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        '{"status": "broken"}',
        '{"checks": {}}',
        '{"status": "pass", "checks": {"x": [{"status": "pass"}]}}',
    ],
)
def test_malformed_reports_raise_invalid_input(bad):
    with pytest.raises(InvalidInputError) as e:
        HealthReport.from_json(bad)
    assert e.value.field == "health report"


def test_check_result_exposes_its_fields():
    c = CheckResult.from_dict(check("warn", observedValue=87.5, observedUnit="percent", output="high"))
    assert c.status is Status.WARN
    assert c.component_type == "datastore"
    assert c.observed_value == 87.5 and c.observed_unit == "percent"
    assert c.time == T and c.output == "high" and c.component_id is None
    assert CheckResult.from_json(c.to_json()) == c


def test_status_orders_worst_last_and_maps_http():
    assert Status.PASS < Status.WARN < Status.FAIL
    assert max([Status.WARN, Status.FAIL, Status.PASS]) is Status.FAIL
    assert [s.http_status for s in (Status.PASS, Status.WARN, Status.FAIL)] == [200, 200, 503]
    assert str(Status.FAIL) == "fail" and Status.WARN.value == "warn"
    assert Status.parse("warn") is Status.WARN
    assert Status.PASS.worst("fail") is Status.FAIL
    assert len({Status.PASS, Status.PASS, Status.FAIL}) == 2
    with pytest.raises(InvalidInputError):
        Status.parse("WARN")


def test_overall_status_is_the_worst_and_accepts_names():
    assert legalops.overall_status([]) is Status.PASS
    assert legalops.overall_status([Status.PASS, "warn"]) is Status.WARN
    assert legalops.overall_status(["pass", Status.FAIL, "warn"]) is Status.FAIL
    with pytest.raises(InvalidInputError):
        legalops.overall_status(["fine"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(84.9, Status.PASS), (85.0, Status.WARN), (89.9, Status.WARN), (90.0, Status.FAIL), (float("nan"), Status.FAIL)],
)
def test_grade_upper_uses_inclusive_bounds(value, expected):
    assert legalops.grade_upper(value, 85.0, 90.0) is expected
