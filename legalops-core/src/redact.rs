//! Secret redaction rules (legal-domain.md, "Log redaction"): which field names hold
//! secrets, and how SSNs and card numbers are shown. Used by the log formatter, error
//! messages, `config check` and the Python bindings, so that all agree.

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Name fragments that mark a field as secret. Matched case-insensitively against the
/// field name with `-`, `_`, `.` and spaces removed, so `X-Api-Key`, `api_key`,
/// `cardNumber` and `card number` all match.
const SECRET_FRAGMENTS: [&str; 11] = [
    "password",
    "passwd",
    "token",
    "secret",
    "key",
    "ssn",
    "cardnumber",
    "cvv",
    "pin",
    "authorization",
    "xapikey",
];

/// Field names that contain a fragment but are not secrets.
// Identifiers that merely end in "key": alert group keys and incident dedup keys are
// routing labels, shown in logs and APIs on purpose.
const NOT_SECRET: [&str; 6] = [
    "keepalive",
    "keyspace",
    "monkey",
    "pinned",
    "groupkey",
    "dedupkey",
];

/// Whether a field called `name` holds a secret and must never be logged or shown.
pub fn is_secret_field(name: &str) -> bool {
    let norm: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    if NOT_SECRET.iter().any(|n| norm.contains(n)) {
        return false;
    }
    SECRET_FRAGMENTS.iter().any(|f| norm.contains(f))
}

/// `value` if the field is not secret, else [`REDACTED`].
pub fn redact_field<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_field(name) {
        REDACTED
    } else {
        value
    }
}

/// Shows only the last four digits of an SSN or card number: `***-**-6789`,
/// `**** **** **** 4242`. Input with fewer than four digits is fully masked.
pub fn mask_last4(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return "*".repeat(value.chars().count().max(4));
    }
    let mut keep = digits.len() - 4;
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                if keep > 0 {
                    keep -= 1;
                    '*'
                } else {
                    c
                }
            } else {
                c
            }
        })
        .collect()
}

/// A URL made safe to show (logs, health `componentId`, `config check`): the password of
/// the user info and every query parameter whose name marks a secret
/// (`?password=`, `?access_key=`) become [`REDACTED`]; the fragment is dropped. A URL
/// without secrets is returned unchanged, so operators still see host, database and
/// options such as `sslmode`.
pub fn redact_url(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:{REDACTED}@{host}{path}"),
                    None => base.to_owned(),
                },
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_field(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_listed_secret_is_recognised_in_any_spelling() {
        for name in [
            "password",
            "Password",
            "new_password",
            "token",
            "access_token",
            "secret",
            "client_secret",
            "key",
            "api_key",
            "X-Api-Key",
            "ssn",
            "card_number",
            "cardNumber",
            "cvv",
            "pin",
            "Authorization",
            "admin_token",
            "routing_key",
        ] {
            assert!(is_secret_field(name), "{name} should be secret");
        }
    }

    #[test]
    fn ordinary_fields_are_not_secret() {
        for name in [
            "group_key",
            "groupKey",
            "dedup_key",
            "email",
            "method",
            "route",
            "status",
            "latency_ms",
            "keepalive",
            "user_id",
        ] {
            assert!(!is_secret_field(name), "{name} should not be secret");
        }
        assert_eq!(redact_field("email", "a@b.c"), "a@b.c");
        assert_eq!(redact_field("password", "hunter2"), REDACTED);
    }

    #[test]
    fn last_four_only() {
        assert_eq!(mask_last4("123-45-6789"), "***-**-6789");
        assert_eq!(mask_last4("4242 4242 4242 4242"), "**** **** **** 4242");
        assert_eq!(mask_last4("12"), "****");
    }

    #[test]
    fn url_passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cr3t@db:5432/legal?sslmode=require"),
            "postgres://app:[REDACTED]@db:5432/legal?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@db/legal"),
            "postgres://app@db/legal"
        );
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("postgres://h/d?sslmode=require&password=x&AWS_SECRET_ACCESS_KEY=y#frag"),
            "postgres://h/d?sslmode=require&password=[REDACTED]&AWS_SECRET_ACCESS_KEY=[REDACTED]"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/d"),
            "postgres://u:[REDACTED]@h/d"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }

    proptest! {
        #[test]
        fn masked_values_keep_shape_and_hide_all_but_four_digits(s in "[0-9 -]{0,24}") {
            let m = mask_last4(&s);
            let digits = m.chars().filter(char::is_ascii_digit).count();
            prop_assert!(digits <= 4);
            if s.chars().filter(char::is_ascii_digit).count() >= 4 {
                prop_assert_eq!(m.chars().count(), s.chars().count());
            }
        }

        #[test]
        fn redacted_url_never_contains_the_password(pw in "[a-zA-Z0-9]{6,16}") {
            let url = format!("postgres://user:{pw}@host:5432/db");
            prop_assert!(!redact_url(&url).contains(&pw));
        }
    }
}
