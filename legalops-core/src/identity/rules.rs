//! Pure identity rules: email normalisation, the password policy (legal-domain.md
//! "Security defaults": 8+ characters with upper, lower, digit and symbol; plus a check
//! against common passwords and the account's own name, as NIST SP 800-63B asks), and the
//! role check routes use.
//!
//! Nothing here does I/O or hashing; the identity engine calls these before it touches a
//! store, so that bad input changes nothing.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::identity::Role;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in characters (bounds the hashing cost an attacker can
/// make us pay).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest email address accepted, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest local part accepted, in bytes (RFC 5321).
pub const MAX_EMAIL_LOCAL_BYTES: usize = 64;

/// Characters that only appear in quoted or bracketed addresses, which we do not accept:
/// refusing them keeps an address safe to put in a header or a log line.
const EMAIL_FORBIDDEN: &[char] = &['"', '<', '>', '(', ')', ',', ';', ':', '\\', '[', ']'];

/// The login name as stored: trimmed and lowercased. `InvalidInput` on field `email`
/// unless it has exactly one `@`, a non-empty local part of at most 64 bytes, a domain
/// with a dot and no empty labels, at most 254 bytes in all, and no whitespace, control
/// characters, quotes or brackets.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let bad = |rule: &str| Err(Error::invalid_input("email", rule));
    if email.is_empty() {
        return bad("must not be empty");
    }
    if email.len() > MAX_EMAIL_BYTES {
        return bad("must be at most 254 bytes");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    if email.contains(EMAIL_FORBIDDEN) {
        return bad("must not contain quotes, brackets, commas, colons or semicolons");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("must contain an @");
    };
    if domain.contains('@') {
        return bad("must contain exactly one @");
    }
    if local.is_empty() {
        return bad("must have a name before the @");
    }
    if local.len() > MAX_EMAIL_LOCAL_BYTES {
        return bad("must have at most 64 bytes before the @");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return bad("must have a domain like example.com after the @");
    }
    Ok(email)
}

/// Checks `password` against the password policy for the account `email`. On failure,
/// `InvalidInput` on field `password` lists every rule broken, separated by `; `, and never
/// the password itself.
pub fn check_password(password: &str, email: &str) -> Result<()> {
    let mut broken: Vec<&str> = Vec::new();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        broken.push("must have at least 8 characters");
    }
    if chars > MAX_PASSWORD_CHARS {
        broken.push("must have at most 128 characters");
    }
    if password.chars().any(char::is_control) {
        broken.push("must not contain control characters");
    }
    if !password.chars().any(char::is_uppercase) {
        broken.push("must contain an uppercase letter");
    }
    if !password.chars().any(char::is_lowercase) {
        broken.push("must contain a lowercase letter");
    }
    if !password.chars().any(char::is_numeric) {
        broken.push("must contain a digit");
    }
    if !password.chars().any(|c| !c.is_alphanumeric()) {
        broken.push("must contain a symbol");
    }
    if is_common_password(password) {
        broken.push("must not be a common password or a common word with digits or symbols added");
    }
    let local = email
        .trim()
        .split_once('@')
        .map_or(email.trim(), |(l, _)| l)
        .to_lowercase();
    if local.chars().count() >= 3 && password.to_lowercase().contains(&local) {
        broken.push("must not contain the email address's name");
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_input("password", broken.join("; ")))
    }
}

/// The embedded list of common passwords and decorated base words (lowercase).
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Whether `p` is a common password: in the list as typed (case-insensitively), or a
/// listed word once the digits and symbols people put around it are stripped and common
/// letter substitutions undone (`Password123!`, `!Welcome2024`, `P@ssw0rd1`).
pub fn is_common_password(p: &str) -> bool {
    let list = common_passwords();
    let lower = p.to_lowercase();
    if list.contains(lower.as_str()) {
        return true;
    }
    let stripped = strip_decoration(&lower);
    let unleeted = unleet(stripped);
    [stripped, unleeted.as_str(), strip_decoration(&unleeted)]
        .iter()
        .any(|core| !core.is_empty() && list.contains(core))
}

/// `s` without the non-letters at either end.
fn strip_decoration(s: &str) -> &str {
    s.trim_matches(|c: char| !c.is_alphabetic())
}

/// Undoes the usual letter-for-symbol substitutions (`p@ssw0rd` -> `password`).
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Whether `role` is one of `allowed`: exact membership. `Admin` is NOT implicitly
/// allowed everything (despite [`Role`]'s order): a route that admins may use lists
/// `Role::Admin` itself, so that what each role can reach is written down route by route
/// and a route meant for customers' own records does not silently open to every admin.
pub fn role_allows(role: Role, allowed: &[Role]) -> bool {
    allowed.contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidInput { field, message }) => {
                assert_eq!(field, "password");
                message
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn normalize_email_trims_and_lowercases() {
        assert_eq!(
            normalize_email("  Alice.Smith+x@Example.COM \n").expect("valid"),
            "alice.smith+x@example.com"
        );
        assert_eq!(normalize_email("a@b.co").expect("valid"), "a@b.co");
    }

    #[test]
    fn normalize_email_rejects_each_malformed_address() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("alice", "@"),
            ("alice@@example.com", "one @"),
            ("a@b@example.com", "one @"),
            ("@example.com", "before the @"),
            ("alice@", "domain"),
            ("alice@localhost", "domain"),
            ("alice@example..com", "domain"),
            ("alice@.example.com", "domain"),
            ("alice@example.com.", "domain"),
            ("al ice@example.com", "spaces"),
            ("alice@exa\tmple.com", "spaces"),
            ("alice\u{0}@example.com", "control"),
            ("alice@example.com\r\nBcc: x@y.z", "spaces"),
            ("\"alice\"@example.com", "quotes"),
            ("<alice@example.com>", "brackets"),
            (long_local.as_str(), "64 bytes"),
            (long_total.as_str(), "254 bytes"),
        ];
        for (input, rule) in cases {
            match normalize_email(input) {
                Err(Error::InvalidInput { field, message }) => {
                    assert_eq!(field, "email");
                    assert!(message.contains(rule), "{input:?}: {message}");
                }
                other => panic!("{input:?} should be rejected, got {other:?}"),
            }
        }
    }

    #[test]
    fn good_password_passes() {
        for p in [
            "Correct-Horse-7",
            "zT9#qLm2vX",
            "Ünïcødé-Pässwörd-42",
            "a B 1 c D 2 e",
        ] {
            assert!(check_password(p, "alice@example.com").is_ok(), "{p}");
        }
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases: &[(&str, &str)] = &[
            ("Ab1!", "at least 8 characters"),
            ("abcdefg1!x", "uppercase"),
            ("ABCDEFG1!X", "lowercase"),
            ("Abcdefgh!x", "digit"),
            ("Abcdefgh1x", "symbol"),
            ("Zq7!\u{7}zzzz", "control"),
            ("Password123!", "common password"),
            ("Welcome2024#", "common password"),
            ("!!Qwerty99", "common password"),
            ("P@ssw0rd1!", "common password"),
            ("LegalOps#2025", "common password"),
            ("Florida!99", "common password"),
            ("Xx-Alice-9xx", "email address's name"),
        ];
        for (p, rule) in cases {
            let m = message(check_password(p, "Alice@example.com"));
            assert!(m.contains(rule), "{p:?}: {m}");
        }
    }

    #[test]
    fn every_broken_rule_is_listed_in_one_message() {
        let m = message(check_password("abc", "x@example.com"));
        assert_eq!(
            m,
            "must have at least 8 characters; must contain an uppercase letter; \
             must contain a digit; must contain a symbol"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 7 characters, 14 bytes: too short.
        let m = message(check_password("Ää1!ääß", "x@example.com"));
        assert!(m.contains("at least 8"), "{m}");
        let long = format!("Aa1!{}", "x".repeat(125));
        let m = message(check_password(&long, "x@example.com"));
        assert_eq!(m, "must have at most 128 characters");
        let max = format!("Aa1!{}", "é".repeat(124));
        assert!(check_password(&max, "x@example.com").is_ok());
    }

    #[test]
    fn short_email_names_are_not_checked() {
        assert!(check_password("Zq7!abzzzz", "ab@example.com").is_ok());
    }

    #[test]
    fn error_never_echoes_the_password() {
        let p = "Sup3rSecretValue";
        let e = check_password(p, "x@example.com").expect_err("no symbol");
        assert!(!e.to_string().contains(p));
        assert!(!format!("{e:?}").contains(p));
    }

    #[test]
    fn common_list_is_large_lowercase_and_has_base_words() {
        let list = common_passwords();
        assert!(list.len() >= 500, "{}", list.len());
        assert!(
            list.iter()
                .all(|w| *w == w.to_lowercase() && w.trim() == *w)
        );
        for w in [
            "password", "qwerty", "letmein", "legalops", "attorney", "123456",
        ] {
            assert!(is_common_password(w), "{w}");
            assert!(is_common_password(&w.to_uppercase()), "{w}");
        }
        assert!(!is_common_password("Vq8#mLz2pW"));
        assert!(!is_common_password(""));
        assert!(!is_common_password("!!!123"));
    }

    #[test]
    fn role_allows_is_exact_membership() {
        assert!(role_allows(Role::Staff, &[Role::Staff, Role::Admin]));
        assert!(!role_allows(Role::Admin, &[Role::Customer]));
        assert!(!role_allows(Role::Attorney, &[Role::Staff]));
        assert!(!role_allows(Role::Admin, &[]));
    }

    proptest! {
        #[test]
        fn an_accepted_password_satisfies_every_composition_rule(
            p in "[A-Za-z0-9!@#$% é]{0,24}|\\PC{0,20}",
        ) {
            if check_password(&p, "someone@example.com").is_ok() {
                let n = p.chars().count();
                prop_assert!((MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n));
                prop_assert!(p.chars().any(char::is_uppercase));
                prop_assert!(p.chars().any(char::is_lowercase));
                prop_assert!(p.chars().any(char::is_numeric));
                prop_assert!(p.chars().any(|c| !c.is_alphanumeric()));
                prop_assert!(!is_common_password(&p));
                prop_assert!(!p.to_lowercase().contains("someone"));
            }
        }

        #[test]
        fn a_rejected_password_is_never_echoed(p in "[A-Za-z0-9]{12,30}") {
            if let Err(e) = check_password(&p, "someone@example.com") {
                prop_assert!(!e.to_string().contains(&p));
            }
        }

        #[test]
        fn normalize_email_is_idempotent(s in "\\PC{0,40}(@\\PC{0,20})?") {
            if let Ok(once) = normalize_email(&s) {
                prop_assert_eq!(normalize_email(&once).ok(), Some(once));
            }
        }

        #[test]
        fn normalize_email_accepts_plain_addresses(
            local in "[A-Za-z0-9._%+-]{1,30}",
            domain in "[A-Za-z0-9-]{1,20}(\\.[A-Za-z0-9-]{1,10}){1,3}",
        ) {
            let raw = format!(" {local}@{domain} ");
            let want = format!("{local}@{domain}").to_lowercase();
            prop_assert_eq!(normalize_email(&raw).ok(), Some(want));
        }
    }
}
