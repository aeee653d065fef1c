//! Parser and printer tests: what parses to what, what is refused and how the error reads,
//! and the round trip `parse(display(e)) == e` over generated trees.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn parse(s: &str) -> Expr {
    Expr::parse(s).unwrap_or_else(|e| panic!("`{s}` should parse: {e}"))
}

fn err(s: &str) -> String {
    match Expr::parse(s) {
        Ok(e) => panic!("`{s}` should be refused, parsed as {e:?}"),
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "expr");
            message
        }
        Err(other) => panic!("wrong kind: {other}"),
    }
}

#[test]
fn precedence_follows_the_grammar() {
    assert_eq!(parse("1 + 2 * 3").to_string(), "1 + 2 * 3");
    assert_eq!(parse("(1 + 2) * 3").to_string(), "(1 + 2) * 3");
    assert_eq!(parse("1 - (2 - 3)").to_string(), "1 - (2 - 3)");
    assert_eq!(parse("1 - 2 - 3").to_string(), "1 - 2 - 3");
    assert_eq!(
        parse("a > 1 and b < 2 or c == 3").to_string(),
        "a > 1 and b < 2 or c == 3"
    );
    assert_eq!(
        parse("a > 1 and (b < 2 or c == 3)").to_string(),
        "a > 1 and (b < 2 or c == 3)"
    );
    assert_eq!(parse("--x").to_string(), "--x");
    assert!(matches!(parse("-1"), Expr::Neg(_)));
}

#[test]
fn selectors_functions_and_ranges_parse() {
    let e = parse(
        r#"rate(http_requests_total{status="5xx", route=~"/api/.*",}[5m]) / rate(http_requests_total[5m]) * 100 > 5"#,
    );
    assert_eq!(
        e.to_string(),
        r#"rate(http_requests_total{status="5xx", route=~"/api/.*"}[5m]) / rate(http_requests_total[5m]) * 100 > 5"#
    );
    assert_eq!(
        e.metric_names().into_iter().collect::<Vec<_>>(),
        vec!["http_requests_total".to_owned()]
    );
    let Expr::Compare { lhs, .. } = &e else {
        panic!("a comparison")
    };
    assert!(e.is_condition() && !lhs.is_condition());
    let h = parse("histogram_quantile(0.95, http_request_duration_seconds{route!='/x'}[1h30m])");
    assert!(
        matches!(h, Expr::HistogramQuantile { q, window, .. } if q == 0.95 && window == Duration::from_secs(5400))
    );
    assert_eq!(parse("absent(up)").to_string(), "absent(up)");
    assert_eq!(
        parse("absent_over_time(ns:up[10m])").to_string(),
        "absent_over_time(ns:up[10m])"
    );
    assert_eq!(parse("1.5e3 >= .5").to_string(), "1500 >= 0.5");
    // A function name without '(' is a metric.
    assert!(matches!(parse("rate + 1"), Expr::Arith { .. }));
}

#[test]
fn strings_take_both_quotes_and_escapes() {
    let e = parse(r#"x{a="q\"\\\n", b='it\'s'}"#);
    let Expr::Select(sel) = &e else {
        panic!("a selector")
    };
    assert_eq!(sel.matchers[0].value, "q\"\\\n");
    assert_eq!(sel.matchers[1].value, "it's");
    assert_eq!(parse(&e.to_string()), e);
}

#[test]
fn errors_say_what_was_expected_where() {
    let m = err("(rate(x[5m]) > 1");
    assert!(
        m.starts_with("expected ')' at column 17 in `(rate(x[5m]) > 1`"),
        "{m}"
    );
    assert!(
        err("x > ").contains("expected a number, '(', a function or a metric name at column 5")
    );
    assert!(err("rate(x)").contains("expected '[' at column 7"));
    assert!(err("rate(x[5])").contains("expected a duration like 5m at column 8"));
    let m = err("rate(x[5q])");
    assert!(
        m.contains("bad duration `5q`") && m.contains("at column 8"),
        "{m}"
    );
    assert!(err("rate(x[0s])").contains("longer than 0"));
    assert!(err("x{a=1}").contains("expected a quoted label value at column 5"));
    assert!(err("x{a:b=\"1\"}").contains("expected a label name at column 3"));
    assert!(err("x{a~\"1\"}").contains("unexpected character `~` at column 4"));
    assert!(err("x{a=\"1\"").contains("expected '}'"));
    assert!(err("x{a=\"1").contains("unterminated string at column 5"));
    assert!(err("1 < x < 3").contains("do not chain"));
    assert!(err("foo(x[5m])").contains("unknown function `foo` at column 1"));
    assert!(err("x[5m]").contains("belongs inside rate"));
    assert!(err("histogram_quantile(1.5, h[5m])").contains("outside 0 to 1"));
    assert!(err("histogram_quantile(0.9, h_bucket[5m])").contains("not its `_bucket` series"));
    assert!(err("x{a=~\"(\"}").contains("bad regular expression"));
    assert!(err("1 2").contains("expected an operator or the end at column 3"));
    assert!(err("and > 1").contains("at column 1"));
    assert!(err("").contains("at column 1"));
    assert!(err("1e999").contains("bad number"));
    assert!(err("x{a=\"\\q\"}").contains("unknown escape"));
}

#[test]
fn deep_or_long_input_is_refused_not_a_stack_overflow() {
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert!(err(&deep).contains("nesting deeper"));
    assert!(err(&"-".repeat(100)).contains("nesting deeper"));
    let long = vec!["1"; 3000].join("+");
    assert!(err(&long).contains("longer than"));
    let chain = vec!["1"; 200].join("+");
    assert!(err(&chain).contains("nests deeper"));
    assert!(Expr::parse(&vec!["1"; 100].join("+")).is_ok());
}

#[test]
fn series_notation_reads_names_and_labels() {
    let (name, labels) =
        parse_series(r#"http_requests_total{status="5xx", route="/a"}"#).expect("parses");
    assert_eq!(name, "http_requests_total");
    assert_eq!(labels.get("status").map(String::as_str), Some("5xx"));
    assert!(parse_series("x{a=~\"b\"}").is_err());
    assert!(parse_series("x y").is_err());
    assert_eq!(parse_series("up").map(|s| s.1.len()).ok(), Some(0));
}

// Generated trees, restricted to what the parser produces (non-negative finite numbers,
// names that are not keywords, patterns that compile).
fn name() -> impl Strategy<Value = String> {
    "[a-z_:][a-z0-9_:]{0,6}".prop_filter("keyword", |n| n != "and" && n != "or")
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let plain = (
        "[a-z_][a-z0-9_]{0,4}",
        prop_oneof![Just(MatchOp::Equal), Just(MatchOp::NotEqual)],
        "[ -~\n\t\u{e9}]{0,6}",
    );
    let regex = (
        "[a-z_][a-z0-9_]{0,4}",
        prop_oneof![Just(MatchOp::Regex), Just(MatchOp::NotRegex)],
        "[a-z0-9|]{0,4}(\\.\\*)?",
    );
    prop_oneof![plain, regex].prop_map(|(name, op, value)| Matcher { name, op, value })
}

fn selector() -> impl Strategy<Value = Selector> {
    (name(), proptest::collection::vec(matcher(), 0..3))
        .prop_map(|(n, m)| Selector::new(n, m).expect("generated patterns compile"))
}

fn window() -> impl Strategy<Value = Duration> {
    (1u64..200_000_000).prop_map(Duration::from_millis)
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0u32..100_000).prop_map(|n| Expr::Number(f64::from(n))),
        (0.0f64..1e9).prop_map(Expr::Number),
        selector().prop_map(Expr::Select),
        (0..RangeFn::ALL.len(), selector(), window()).prop_map(|(i, selector, window)| {
            Expr::Range {
                func: RangeFn::ALL[i],
                selector,
                window,
            }
        }),
        (0.0f64..=1.0, selector(), window())
            .prop_filter("histogram base name", |(_, s, _)| !s
                .name
                .ends_with("_bucket"))
            .prop_map(|(q, selector, window)| Expr::HistogramQuantile {
                q,
                selector,
                window
            }),
        selector().prop_map(Expr::Absent),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 40, 2, |inner| {
        let arith = prop_oneof![
            Just(ArithOp::Add),
            Just(ArithOp::Sub),
            Just(ArithOp::Mul),
            Just(ArithOp::Div)
        ];
        let cmp = prop_oneof![
            Just(CmpOp::Gt),
            Just(CmpOp::Ge),
            Just(CmpOp::Lt),
            Just(CmpOp::Le),
            Just(CmpOp::Eq),
            Just(CmpOp::Ne)
        ];
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            (arith, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Arith {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r)
            }),
            (cmp, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Compare {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r)
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #[test]
    fn display_parses_back_to_the_same_tree(e in expr()) {
        let text = e.to_string();
        let back = Expr::parse(&text);
        prop_assert!(back.is_ok(), "`{}` did not parse: {:?}", text, back);
        prop_assert_eq!(back.ok(), Some(e));
    }

    #[test]
    fn no_input_panics_the_parser(s in "[ -~]{0,40}") {
        let _ = Expr::parse(&s);
    }

    #[test]
    fn no_near_miss_panics_the_parser(s in r#"[a-z(){}\[\]=~!<>",0-9 .+*/-]{0,30}"#) {
        let _ = Expr::parse(&format!("rate(x{s}"));
        let _ = Expr::parse(&s);
    }
}
