//! Label matchers (`=`, `!=`, `=~`, `!~`) compiled once for repeated use, with
//! Alertmanager's semantics: regexes are anchored, and a missing label reads as the empty
//! string (so `team!="ops"` matches an alert without a `team` label).

use regex::{Regex, RegexBuilder};

use crate::alerting::{MatchOp, Matcher};
use crate::error::{Error, Result};
use crate::metrics::Labels;

/// The longest matcher value or pattern accepted (bytes).
pub const MAX_MATCHER_VALUE: usize = 1024;

/// Compiled-program budget per regex: a pattern like `(a{100}){100}` is refused instead of
/// eating memory on every evaluation.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

#[derive(Debug, Clone)]
struct CompiledMatcher {
    name: String,
    test: Test,
}

impl CompiledMatcher {
    fn matches_value(&self, value: &str) -> bool {
        match &self.test {
            Test::Equal(v) => value == v,
            Test::NotEqual(v) => value != v,
            Test::Regex(r) => r.is_match(value),
            Test::NotRegex(r) => !r.is_match(value),
        }
    }
}

/// A list of matchers ready to test label sets; all must match. An empty list matches
/// everything.
#[derive(Debug, Clone, Default)]
pub struct CompiledMatchers {
    matchers: Vec<CompiledMatcher>,
}

impl CompiledMatchers {
    /// Whether every matcher matches `labels` (a missing label is the empty string).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| {
            let value = labels.get(&m.name).map_or("", String::as_str);
            m.matches_value(value)
        })
    }

    /// How many matchers there are.
    pub fn len(&self) -> usize {
        self.matchers.len()
    }

    /// Whether there are none (then everything matches).
    pub fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }

    /// Whether at least one matcher refuses the empty string, i.e. the list cannot match
    /// every alert by accident (Alertmanager's rule for silences).
    pub fn rejects_empty(&self) -> bool {
        self.matchers.iter().any(|m| !m.matches_value(""))
    }
}

/// Compiles `matchers`. A bad label name, an over-long value or a regex that does not
/// compile is `InvalidInput` naming the matcher's index (`matchers[2].value`).
pub fn compile(matchers: &[Matcher]) -> Result<CompiledMatchers> {
    let mut out = Vec::with_capacity(matchers.len());
    for (i, m) in matchers.iter().enumerate() {
        if !is_label_name(&m.name) {
            return Err(Error::invalid_input(
                format!("matchers[{i}].name"),
                format!(
                    "{:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                    truncate(&m.name)
                ),
            ));
        }
        if m.value.len() > MAX_MATCHER_VALUE {
            return Err(Error::invalid_input(
                format!("matchers[{i}].value"),
                format!("must be at most {MAX_MATCHER_VALUE} bytes"),
            ));
        }
        let test = match m.op {
            MatchOp::Equal => Test::Equal(m.value.clone()),
            MatchOp::NotEqual => Test::NotEqual(m.value.clone()),
            MatchOp::Regex => Test::Regex(anchored(i, &m.value)?),
            MatchOp::NotRegex => Test::NotRegex(anchored(i, &m.value)?),
        };
        out.push(CompiledMatcher {
            name: m.name.clone(),
            test,
        });
    }
    Ok(CompiledMatchers { matchers: out })
}

/// Prometheus anchors label regexes at both ends: `=~"api"` does not match `api-2`.
fn anchored(index: usize, pattern: &str) -> Result<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // The regex crate's message spans several lines (pattern, caret, reason): the
            // last line is the reason, which is what an operator needs.
            let text = e.to_string();
            let reason = text.lines().last().unwrap_or("invalid").trim().to_owned();
            Error::invalid_input(
                format!("matchers[{index}].value"),
                format!("not a valid regular expression: {reason}"),
            )
        })
}

/// Prometheus' classic label-name rule.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn matchers_follow_alertmanager_semantics() {
        use MatchOp::*;
        let alert = labels(&[("alertname", "HighErrorRate"), ("instance", "api-1")]);
        let cases: &[(Matcher, bool)] = &[
            (m("alertname", Equal, "HighErrorRate"), true),
            (m("alertname", Equal, "highErrorRate"), false),
            (m("alertname", NotEqual, "Other"), true),
            (m("alertname", NotEqual, "HighErrorRate"), false),
            (m("instance", Regex, "api-.*"), true),
            (m("instance", Regex, "api"), false), // anchored: no partial match
            (m("instance", Regex, ".*-1|x"), true), // alternation stays inside the anchor
            (m("instance", Regex, "pi-1"), false),
            (m("instance", NotRegex, "db-.*"), true),
            (m("instance", NotRegex, "api-.*"), false),
            // A missing label is the empty string.
            (m("team", Equal, ""), true),
            (m("team", NotEqual, "ops"), true),
            (m("team", Equal, "ops"), false),
            (m("team", Regex, ".*"), true),
            (m("team", Regex, ".+"), false),
            (m("team", NotRegex, ".+"), true),
        ];
        for (i, (matcher, want)) in cases.iter().enumerate() {
            let c = compile(std::slice::from_ref(matcher)).expect("valid matcher");
            assert_eq!(c.matches(&alert), *want, "case {i}: {matcher:?}");
        }
    }

    #[test]
    fn all_matchers_must_match_and_none_matches_everything() {
        let alert = labels(&[("a", "1"), ("b", "2")]);
        let both =
            compile(&[m("a", MatchOp::Equal, "1"), m("b", MatchOp::Equal, "2")]).expect("valid");
        assert!(both.matches(&alert));
        let one_wrong =
            compile(&[m("a", MatchOp::Equal, "1"), m("b", MatchOp::Equal, "3")]).expect("valid");
        assert!(!one_wrong.matches(&alert));
        let none = compile(&[]).expect("valid");
        assert!(none.is_empty() && none.matches(&alert) && none.matches(&Labels::new()));
    }

    #[test]
    fn bad_regex_is_refused_naming_the_matcher_index() {
        let err = compile(&[m("a", MatchOp::Equal, "1"), m("b", MatchOp::Regex, "(")])
            .expect_err("unbalanced paren");
        match err {
            Error::InvalidInput { field, message } => {
                assert_eq!(field, "matchers[1].value");
                assert!(message.contains("regular expression"), "{message}");
            }
            other => panic!("wrong kind: {other:?}"),
        }
        let err = compile(&[m("x", MatchOp::NotRegex, "[z-a]")]).expect_err("bad range");
        assert!(
            matches!(err, Error::InvalidInput { ref field, .. } if field == "matchers[0].value")
        );
    }

    #[test]
    fn bad_label_names_and_huge_values_are_refused() {
        for name in ["", "1abc", "a-b", "a b", "é"] {
            let err = compile(&[m(name, MatchOp::Equal, "x")]).expect_err(name);
            assert!(
                matches!(err, Error::InvalidInput { ref field, .. } if field == "matchers[0].name"),
                "{name:?}: {err:?}"
            );
        }
        let long = "x".repeat(MAX_MATCHER_VALUE + 1);
        let err = compile(&[m("a", MatchOp::Equal, &long)]).expect_err("too long");
        assert!(
            matches!(err, Error::InvalidInput { ref field, .. } if field == "matchers[0].value")
        );
        let err =
            compile(&[m("a", MatchOp::Regex, "(a{1000}){1000}")]).expect_err("too big a program");
        assert!(matches!(err, Error::InvalidInput { .. }));
    }

    #[test]
    fn rejects_empty_tells_whether_a_matcher_refuses_the_empty_string() {
        let cases: &[(Vec<Matcher>, bool)] = &[
            (vec![m("a", MatchOp::Equal, "")], false),
            (vec![m("a", MatchOp::Regex, ".*")], false),
            (vec![m("a", MatchOp::NotEqual, "x")], false),
            (vec![m("a", MatchOp::NotRegex, "x+")], false),
            (vec![m("a", MatchOp::Equal, "x")], true),
            (vec![m("a", MatchOp::NotEqual, "")], true),
            (vec![m("a", MatchOp::Regex, ".+")], true),
            (vec![m("a", MatchOp::NotRegex, ".*")], true),
            (
                vec![m("a", MatchOp::Regex, ".*"), m("b", MatchOp::Equal, "y")],
                true,
            ),
        ];
        for (ms, want) in cases {
            assert_eq!(compile(ms).expect("valid").rejects_empty(), *want, "{ms:?}");
        }
    }

    proptest! {
        #[test]
        fn equal_matcher_agrees_with_literal_regex(value in "[a-z0-9.*+?()|-]{0,12}", label in "[a-z0-9.*+?()|-]{0,12}") {
            let labels = labels(&[("l", &label)]);
            let eq = compile(&[m("l", MatchOp::Equal, &value)]).expect("valid");
            let re = compile(&[m("l", MatchOp::Regex, &regex::escape(&value))]).expect("escaped");
            prop_assert_eq!(eq.matches(&labels), re.matches(&labels));
            let ne = compile(&[m("l", MatchOp::NotEqual, &value)]).expect("valid");
            prop_assert_eq!(ne.matches(&labels), !eq.matches(&labels));
        }
    }
}
