"""Alert rules load, evaluate and pass their tests in Python exactly as the server runs them;
incidents classify by the design page's table."""

import pathlib
from datetime import datetime, timedelta, timezone

import pytest

import legalops
from legalops import InvalidConfigError, InvalidInputError

REPO = pathlib.Path(__file__).resolve().parents[2]
RULE_TESTS = REPO / "docs" / "alerting" / "default-rules.test.toml"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)


def by_name(items):
    return {i["name"]: i for i in items}


def test_default_rules_parse_and_include_the_watchdog():
    rules = by_name(legalops.parse_rules(legalops.default_rules()))
    watchdog = rules["Watchdog"]
    assert watchdog["severity"] == "none"
    assert watchdog["labels"]["alertname"] == "Watchdog"
    high = rules["HighErrorRate"]
    assert (high["for_secs"], high["keep_firing_for_secs"]) == (120.0, 300.0)
    assert high["severity"] == "critical" and high["labels"]["severity"] == "critical"
    assert "http_requests_total" in high["expr"] and high["recover"] is not None
    assert "{{ $value }}" in high["annotations"]["summary"]


def test_a_rule_that_does_not_parse_is_refused_naming_the_rule():
    text = '''
[[rules]]
name = "Fine"
expr = "1"
severity = "info"

[[rules]]
name = "Broken"
expr = "rate(http_requests_total[5m] > "
severity = "critical"
'''
    with pytest.raises(InvalidConfigError) as e:
        legalops.parse_rules(text)
    assert e.value.field == "rules[1] (Broken).expr"
    assert "Broken" in str(e.value) and e.value.kind == "invalid_config"


def test_a_duplicate_name_and_a_missing_severity_are_refused():
    rule = '[[rules]]\nname = "Twice"\nexpr = "1"\nseverity = "info"\n'
    with pytest.raises(InvalidConfigError, match="duplicate") as e:
        legalops.parse_rules(rule + rule)
    assert e.value.field == "rules[1] (Twice).name"
    with pytest.raises(InvalidConfigError) as e:
        legalops.parse_rules('[[rules]]\nname = "NoSev"\nexpr = "1"\n')
    assert e.value.field == "rules[0] (NoSev).severity"


def test_the_shipped_rule_tests_pass_against_the_default_rules():
    report = legalops.run_rule_tests(legalops.default_rules(), RULE_TESTS.read_text())
    assert report["ok"] is True and report["failed"] == 0 and report["mismatches"] == []
    assert report["checks"] == report["passed"] > 0
    high = [t for t in report["transitions"] if t["rule"] == "HighErrorRate"]
    assert [(t["at_secs"], t["state"]) for t in high[:2]] == [(60.0, "pending"), (180.0, "firing")]
    assert [t["state"] for t in high[2:]] == ["resolved", "inactive"]


def test_a_changed_expectation_fails_with_a_mismatch_naming_the_rule():
    text = RULE_TESTS.read_text()
    first = 'rule = "HighErrorRate"\nstate = "pending"'
    assert first in text
    report = legalops.run_rule_tests(legalops.default_rules(), text.replace(first, 'rule = "HighErrorRate"\nstate = "firing"', 1))
    assert report["ok"] is False and report["failed"] == 1
    assert report["passed"] == report["checks"] - 1
    (mismatch,) = report["mismatches"]
    assert "HighErrorRate" in mismatch and "firing" in mismatch and "pending" in mismatch


def test_a_malformed_test_file_names_the_key():
    with pytest.raises(InvalidConfigError) as e:
        legalops.run_rule_tests(legalops.default_rules(), '[[tests]]\neval_time = "1m"\n[[tests.alerts]]\nrule = "Nope"\n')
    assert e.value.field == "tests[0].alerts[0].rule"


def requests(error_per_min, good_per_min=90, minutes=6, start=T0):
    """Counter samples, one a minute: `error_per_min` 5xx and `good_per_min` 2xx requests."""
    times = [start + timedelta(minutes=m) for m in range(minutes + 1)]
    return [
        {"name": "http_requests_total", "labels": {"status": "2xx"}, "samples": [(t, good_per_min * i) for i, t in enumerate(times)]},
        {"name": "http_requests_total", "labels": {"status": "5xx"}, "samples": [(t.isoformat(), error_per_min * i) for i, t in enumerate(times)]},
    ]


def test_a_ten_percent_5xx_rate_over_five_minutes_makes_high_error_rate_hold():
    at = T0 + timedelta(minutes=6)
    high = by_name(legalops.evaluate_rules(legalops.default_rules(), requests(10), at))["HighErrorRate"]
    assert high["condition"] is True
    assert high["value"] == pytest.approx(10.0)
    assert high["recovered"] is False
    assert high["labels"]["alertname"] == "HighErrorRate"
    assert "10" in high["annotations"]["summary"]


def test_a_low_5xx_rate_does_not_hold_and_recovers():
    at = (T0 + timedelta(minutes=6)).isoformat()
    high = by_name(legalops.evaluate_rules(legalops.default_rules(), requests(1, good_per_min=99), at))["HighErrorRate"]
    assert high["condition"] is False and high["recovered"] is True
    assert high["value"] == pytest.approx(1.0)


def test_no_data_gives_no_value_and_the_watchdog_still_holds():
    results = by_name(legalops.evaluate_rules(legalops.default_rules(), [], T0))
    assert results["HighErrorRate"]["value"] is None
    assert results["HighErrorRate"]["condition"] is False
    assert results["Watchdog"]["condition"] is True and results["Watchdog"]["recovered"] is None


def test_malformed_series_are_refused_naming_the_element():
    rules = legalops.default_rules()
    with pytest.raises(InvalidInputError) as e:
        legalops.evaluate_rules(rules, [{"name": "x", "samples": [(T0, 1.0), (T0, "many")]}], T0)
    assert e.value.field == "series[0].samples[1]"
    for bad in ["ab", {"a": 1, "b": 2}, (T0,)]:
        with pytest.raises(InvalidInputError) as e:
            legalops.evaluate_rules(rules, [{"name": "x", "samples": [bad]}], T0)
        assert e.value.field == "series[0].samples[0]"
    with pytest.raises(InvalidInputError) as e:
        legalops.evaluate_rules(rules, [{"name": "x", "samples": [(datetime(2026, 5, 1), 1.0)]}], T0)
    assert e.value.field == "series[0].samples[0][0]"
    with pytest.raises(InvalidInputError) as e:
        legalops.evaluate_rules(rules, [{"samples": []}], T0)
    assert e.value.field == "series[0].name"
    with pytest.raises(InvalidInputError) as e:
        legalops.evaluate_rules(rules, [], "yesterday")
    assert e.value.field == "at"


@pytest.mark.parametrize(
    ("kwargs", "severity"),
    [
        ({"alert_severity": "info", "security_breach": True}, "sev1"),
        ({"alert_severity": "warning", "data_loss": True}, "sev1"),
        ({"alert_severity": "critical", "error_rate_5xx_percent": 6.0}, "sev1"),
        ({"alert_severity": "critical"}, "sev2"),
        ({"alert_severity": "critical", "error_rate_5xx_percent": 5.0}, "sev2"),
        ({"alert_severity": "critical", "failing_checks": ["database:responseTime"]}, "sev1"),
        ({"alert_severity": "critical", "failing_checks": ["disk:utilization"]}, "sev2"),
        ({"alert_severity": "critical", "failing_routes": 3}, "sev1"),
        ({"alert_severity": "warning"}, "sev3"),
        ({"alert_severity": "warning", "error_rate_4xx_percent": 1.5, "error_rate_5xx_percent": 1.0}, "sev2"),
        ({"alert_severity": "info"}, "sev4"),
        ({"alert_severity": "critical", "error_rate_5xx_percent": float("nan")}, "sev1"),
    ],
)
def test_classification_follows_the_table(kwargs, severity):
    assert legalops.classify(**kwargs)["severity"] == severity


def test_classification_gives_its_reasons():
    out = legalops.classify("critical", error_rate_5xx_percent=6.0)
    assert out == {"severity": "sev1", "reasons": ["critical alert", "5xx rate 6 % > 5 %"]}
    assert legalops.classify("critical", 5.0)["reasons"] == ["critical alert"]
    assert legalops.classify("info", security_breach=True)["reasons"] == ["security breach event"]
    assert "| info | Sev4 |" in legalops.CLASSIFICATION_TABLE


def test_an_unknown_alert_severity_is_refused():
    with pytest.raises(InvalidInputError) as e:
        legalops.classify("sev1")
    assert e.value.field == "alert_severity" and "critical" in str(e.value)


def test_response_and_escalation_times_are_the_runbooks():
    hour = 3600.0
    assert [legalops.response_target_secs(f"sev{i}") for i in range(1, 5)] == [900.0, hour, 4 * hour, 24 * hour]
    assert [legalops.escalate_after_secs(f"sev{i}") for i in range(1, 5)] == [0.0, 2 * hour, 8 * hour, 48 * hour]
    with pytest.raises(InvalidInputError) as e:
        legalops.response_target_secs("critical")
    assert e.value.field == "sev"
