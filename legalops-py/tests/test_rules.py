"""Redaction, alert fingerprints and object keys follow the core's rules."""

import pytest

import legalops
from legalops import REDACTED, InvalidInputError, LegalOpsError


@pytest.mark.parametrize(
    "name", ["X-Api-Key", "api_key", "password", "Authorization", "cardNumber", "card number", "ssn", "client_secret"]
)
def test_secret_fields_are_recognised_in_any_spelling(name):
    assert legalops.is_secret_field(name)
    assert legalops.redact_field(name, "hunter2") == REDACTED == "[REDACTED]"


@pytest.mark.parametrize("name", ["email", "route", "keepalive", "user_id", "monkey"])
def test_ordinary_fields_pass_through(name):
    assert not legalops.is_secret_field(name)
    assert legalops.redact_field(name, "a@b.c") == "a@b.c"


def test_only_the_last_four_digits_show():
    assert legalops.mask_last4("123-45-6789") == "***-**-6789"
    assert legalops.mask_last4("4242 4242 4242 4242") == "**** **** **** 4242"
    assert legalops.mask_last4("12") == "****"


def test_url_passwords_are_hidden():
    url = "postgres://app:s3cr3t@db:5432/legal?sslmode=require"
    assert legalops.redact_url(url) == "postgres://app:[REDACTED]@db:5432/legal?sslmode=require"
    assert legalops.redact_url("postgres://app@db/legal") == "postgres://app@db/legal"


def test_fingerprint_is_stable_across_dict_order_and_label_dependent():
    a = legalops.alert_fingerprint({"alertname": "DiskFull", "severity": "critical", "instance": "a"})
    b = legalops.alert_fingerprint({"instance": "a", "severity": "critical", "alertname": "DiskFull"})
    assert a == b
    assert len(a) == 16 and int(a, 16) >= 0
    assert legalops.alert_fingerprint({"a": "bc"}) != legalops.alert_fingerprint({"ab": "c"})
    with pytest.raises(TypeError):
        legalops.alert_fingerprint({"a": 1})


@pytest.mark.parametrize("key", ["", "/etc/passwd", "a/../b", "..", "a//b", "a\\b", "a\x00b", "a/", "x" * 1025])
def test_hostile_keys_raise_invalid_input(key):
    with pytest.raises(InvalidInputError) as e:
        legalops.validate_key(key)
    assert isinstance(e.value, LegalOpsError)
    assert isinstance(e.value, ValueError)
    assert e.value.field == "key" and e.value.kind == "invalid_input"
    assert e.value.retryable is False


@pytest.mark.parametrize("key", ["a", "a/b.pdf", "customers/42/Articles (final).pdf", "x..y", "x" * 1024])
def test_safe_keys_pass(key):
    assert legalops.validate_key(key) is None


def test_prefixes_may_end_in_a_slash():
    legalops.validate_prefix("")
    legalops.validate_prefix("customers/42/")
    with pytest.raises(InvalidInputError):
        legalops.validate_prefix("../")
    assert legalops.MAX_KEY_LEN == 1024
