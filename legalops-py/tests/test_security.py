"""IP bans, account lockouts and block targets decide in Python exactly as the engine does."""

from datetime import datetime, timedelta, timezone

import pytest

import legalops
from legalops import BanPolicy, InvalidConfigError, InvalidInputError, IpSet, LockoutPolicy

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
MIN = 60.0


def test_defaults_are_the_services():
    p = BanPolicy()
    assert (p.max_failures, p.find_time_secs, p.ban_time_secs) == (5, 900.0, 600.0)
    assert (p.increment_factor, p.max_ban_time_secs) == (2, 604800.0)
    assert p == BanPolicy(max_failures=5, ban_time_secs=600)
    assert "max_failures=5" in repr(p)
    lp = LockoutPolicy()
    assert (lp.threshold, lp.window_secs, lp.lockout_secs) == (5, 900.0, 900.0)
    assert (lp.base_delay_secs, lp.max_delay_secs, lp.max_lockout_secs) == (1.0, 30.0, 86400.0)
    p.validate()
    lp.validate()


def test_the_sixth_failure_bans():
    p = BanPolicy()
    assert [p.should_ban(n) for n in range(8)] == [False] * 6 + [True] * 2
    assert BanPolicy(max_failures=2).should_ban(3)


def test_a_repeat_offenders_ban_doubles_then_caps():
    p = BanPolicy()
    assert [p.ban_duration_secs(n) for n in range(4)] == [10 * MIN, 20 * MIN, 40 * MIN, 80 * MIN]
    assert p.ban_duration_secs(10) == p.ban_duration_secs(2**64 - 1) == 7 * 24 * 60 * MIN
    assert BanPolicy(increment_factor=1).ban_duration_secs(50) == 10 * MIN


def test_unusable_policies_name_the_key():
    with pytest.raises(InvalidConfigError) as e:
        BanPolicy(max_failures=0).validate()
    assert e.value.field == "security.ban_max_failures"
    with pytest.raises(InvalidConfigError) as e:
        BanPolicy(ban_time_secs=3600, max_ban_time_secs=60).validate()
    assert e.value.field == "security.ban_max_time_secs"
    with pytest.raises(InvalidConfigError) as e:
        LockoutPolicy(base_delay_secs=60, max_delay_secs=30).validate()
    assert e.value.field == "security.lockout_base_delay_secs"
    with pytest.raises(InvalidConfigError) as e:
        BanPolicy(find_time_secs=-1)
    assert e.value.field == "find_time_secs"
    with pytest.raises(InvalidConfigError):
        LockoutPolicy(lockout_secs=float("nan"))
    with pytest.raises(TypeError):
        BanPolicy(5)  # keyword-only: six numbers in a row are too easy to swap


def test_delays_grow_after_the_third_failure_up_to_the_cap():
    p = LockoutPolicy()
    assert [p.delay_after_secs(n) for n in range(7)] == [0, 0, 0, 1, 2, 4, 8]
    assert p.delay_after_secs(60) == 30
    assert [p.lockout_for_secs(level) for level in range(3)] == [15 * MIN, 30 * MIN, 60 * MIN]
    assert p.lockout_for_secs(40) == 24 * 60 * MIN


def test_the_fifth_failure_locks_and_lockouts_in_a_row_grow():
    p = LockoutPolicy()
    assert legalops.lockout_after_failure(p, "owner@example.com", T0, None, 4) is None
    lock = legalops.lockout_after_failure(p, "owner@example.com", T0, None, 5)
    assert lock == {"account": "owner@example.com", "until": T0 + timedelta(minutes=15), "level": 0}
    assert lock["until"].utcoffset() == timedelta(0)
    # While it is in force nothing new is stored; right after it ends, the next is longer.
    assert legalops.lockout_after_failure(p, "owner@example.com", T0 + timedelta(minutes=1), lock, 9) is None
    later = lock["until"] + timedelta(seconds=1)
    again = legalops.lockout_after_failure(p, "owner@example.com", later, lock, 5)
    assert again is not None and again["level"] == 1
    assert again["until"] == later + timedelta(minutes=30)


def test_a_clean_source_is_allowed_during_a_lockout_while_a_failing_source_is_locked():
    p = LockoutPolicy()
    lock = legalops.lockout_after_failure(p, "owner@example.com", T0, None, 5)
    assert lock is not None
    now = T0 + timedelta(minutes=1)
    flood = legalops.login_decision(p, now, lock, 500, 5, T0)
    assert flood == {"decision": "locked", "until": lock["until"]}
    owner = legalops.login_decision(p, now, lock, 500, 0, now - timedelta(seconds=30))
    assert owner == {"decision": "allow"}
    too_soon = legalops.login_decision(p, now, lock, 500, 0, now - timedelta(seconds=10))
    assert too_soon == {"decision": "delay", "retry_after_secs": 20.0}
    # After the lockout window the failing source is back to the delay rule only.
    after = legalops.login_decision(p, lock["until"] + timedelta(minutes=1), lock, 5, 5, T0)
    assert after == {"decision": "allow"}


def test_times_may_be_rfc3339_strings_but_never_naive():
    p = LockoutPolicy()
    lock = {"account": "a@example.com", "until": "2026-05-01T09:15:00Z", "level": 0}
    d = legalops.login_decision(p, "2026-05-01T11:00:00+02:00", lock, 6, 1, "2026-05-01T08:59:00Z")
    assert d == {"decision": "locked", "until": T0 + timedelta(minutes=15)}
    with pytest.raises(InvalidInputError) as e:
        legalops.login_decision(p, datetime(2026, 5, 1, 9, 0))
    assert e.value.field == "now" and "timezone-aware" in str(e.value)
    with pytest.raises(InvalidInputError) as e:
        legalops.login_decision(p, T0, {"account": "a", "until": "tomorrow", "level": 0})
    assert e.value.field == "lockout.until"
    with pytest.raises(InvalidInputError) as e:
        legalops.login_decision(p, T0, {"account": "a", "until": T0})
    assert e.value.field == "lockout.level"
    with pytest.raises(InvalidInputError) as e:
        legalops.login_decision(p, T0, None, 3, 0, 12345)
    assert e.value.field == "last_failure_at"


@pytest.mark.parametrize(
    ("target", "canonical"),
    [
        ("192.0.2.7", "192.0.2.7/32"),
        (" 192.0.2.7/24 ", "192.0.2.0/24"),
        ("::ffff:192.0.2.7", "192.0.2.7/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("2001:db8:abcd::/48", "2001:db8:abcd::/48"),
    ],
)
def test_targets_parse_to_their_canonical_network(target, canonical):
    assert legalops.parse_target(target) == canonical


@pytest.mark.parametrize("garbage", ["", "not-an-ip", "192.0.2.300", "10.0.0.0/1", "fe80::1%eth0", "1.2.3.4/33", "x" * 100])
def test_parse_target_refuses_garbage_naming_the_field(garbage):
    with pytest.raises(InvalidInputError) as e:
        legalops.parse_target(garbage)
    assert isinstance(e.value, ValueError)
    assert e.value.field == "ipAddress" and e.value.kind == "invalid_input"


def test_broad_ranges_need_allow_broad():
    assert legalops.parse_target("10.0.0.0/1", allow_broad=True) == "0.0.0.0/1"


def test_ip_sets_match_the_most_specific_network_and_mapped_addresses():
    allow = IpSet(["127.0.0.0/8", "::1", "10.0.0.0/8", "2001:db8::/32", "10.0.0.0/8"])
    assert len(allow) == 4 and allow.nets == ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "2001:db8::/32"]
    assert allow.contains("10.200.1.2") and "127.0.0.1" in allow and "::ffff:10.0.0.1" in allow
    assert "2001:db8:1::5" in allow and "::1" in allow
    assert "192.0.2.1" not in allow and "2001:db9::1" not in allow
    assert not IpSet([]).contains("10.0.0.1")
    with pytest.raises(InvalidInputError) as e:
        allow.contains("10.0.0")
    assert e.value.field == "ip"
    with pytest.raises(InvalidInputError) as e:
        IpSet(["10.0.0.0/8", "192.0.2.0/24", "nope"])
    assert e.value.field == "nets[2]"
    with pytest.raises(TypeError):
        IpSet("10.0.0.0/8")
