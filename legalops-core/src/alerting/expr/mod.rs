//! The rule expression language: a small PromQL subset that evaluates to ONE number (and,
//! for a comparison, one truth) per rule, so that each rule is one alert and the runbook's
//! thresholds read as written.
//!
//! ```text
//! expr      := or_expr
//! or_expr   := and_expr ('or' and_expr)*
//! and_expr  := cmp ('and' cmp)*
//! cmp       := sum (('>'|'>='|'<'|'<='|'=='|'!=') sum)?
//! sum       := product (('+'|'-') product)*
//! product   := unary (('*'|'/') unary)*
//! unary     := '-' unary | primary
//! primary   := NUMBER | '(' expr ')' | call | selector
//! call      := ('rate'|'increase'|'avg_over_time'|'min_over_time'|'max_over_time'
//!              |'absent_over_time') '(' range ')'
//!            | 'histogram_quantile' '(' NUMBER ',' range ')'
//!            | 'absent' '(' selector ')'
//! range     := selector '[' DURATION ']'
//! selector  := NAME ('{' matcher (',' matcher)* '}')?
//! matcher   := LABEL ('='|'!='|'=~'|'!~') STRING
//! ```
//!
//! A selector sums every matching series; `histogram_quantile` names the histogram itself
//! (`http_request_duration_seconds`), and the [`SeriesSource`] finds its `_bucket` series.
//! Parsing ([`Expr::parse`]) refuses bad input with the column and what was expected;
//! [`Display`] prints an expression that parses back to the same tree. Evaluation
//! ([`Expr::eval`]) follows Prometheus (see [`eval`] for the differences).
//!
//! ```
//! use legalops_core::alerting::expr::{Expr, MemorySeries};
//! use legalops_core::metrics::Labels;
//! use time::OffsetDateTime;
//!
//! let e = Expr::parse("system_cpu_usage_ratio * 100 > 80").unwrap();
//! let mut src = MemorySeries::new();
//! src.push("system_cpu_usage_ratio", Labels::new(), OffsetDateTime::UNIX_EPOCH, 0.93);
//! let out = e.eval(&src, OffsetDateTime::UNIX_EPOCH);
//! assert_eq!(out.condition, Some(true));
//! assert!((out.value.unwrap() - 93.0).abs() < 1e-9);
//! ```

use std::collections::BTreeSet;
use std::fmt::{self, Display};
use std::time::Duration;

use regex::Regex;

use super::rule::format_duration;
use super::{MatchOp, Matcher};
use crate::error::{Error, Result};
use crate::metrics::Labels;

pub mod eval;
mod parse;
pub mod series;

pub use eval::Evaluated;
pub(crate) use parse::parse_series;
pub use series::{HistogramDelta, MemorySeries, STALENESS, SeriesSource};

/// A parsed rule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal (never negative from the parser: `-1` is `Neg(Number(1))`).
    Number(f64),
    /// The sum of the matching series' current values.
    Select(Selector),
    /// `-e`
    Neg(Box<Expr>),
    /// `lhs (+|-|*|/) rhs`
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `lhs (>|>=|<|<=|==|!=) rhs`: a condition whose value is `lhs`.
    Compare {
        /// The operator.
        op: CmpOp,
        /// Left operand (the rule's `$value`).
        lhs: Box<Expr>,
        /// Right operand (usually the threshold).
        rhs: Box<Expr>,
    },
    /// `lhs and rhs`: both hold.
    And(Box<Expr>, Box<Expr>),
    /// `lhs or rhs`: either holds.
    Or(Box<Expr>, Box<Expr>),
    /// `func(selector[window])`
    Range {
        /// The function.
        func: RangeFn,
        /// The series.
        selector: Selector,
        /// How far back from the evaluation instant.
        window: Duration,
    },
    /// `histogram_quantile(q, histogram[window])` over the window's bucket increases.
    HistogramQuantile {
        /// The quantile, 0 to 1.
        q: f64,
        /// The histogram (its base name, without `_bucket`).
        selector: Selector,
        /// How far back from the evaluation instant.
        window: Duration,
    },
    /// `absent(selector)`: 1 when no matching series has a current value, else no data.
    Absent(Selector),
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (IEEE: `x / 0` is infinite or NaN, as in Prometheus)
    Div,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// A function over the samples of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFn {
    /// Per-second increase of a counter, resets handled, extrapolated as Prometheus does.
    Rate,
    /// `rate * window`.
    Increase,
    /// Mean of the samples.
    AvgOverTime,
    /// Smallest sample.
    MinOverTime,
    /// Largest sample.
    MaxOverTime,
    /// 1 when the window holds no sample, else no data.
    AbsentOverTime,
}

impl RangeFn {
    /// Every range function, for the parser and for tests.
    pub const ALL: [RangeFn; 6] = [
        RangeFn::Rate,
        RangeFn::Increase,
        RangeFn::AvgOverTime,
        RangeFn::MinOverTime,
        RangeFn::MaxOverTime,
        RangeFn::AbsentOverTime,
    ];

    /// The function's name in expressions.
    pub fn name(self) -> &'static str {
        match self {
            RangeFn::Rate => "rate",
            RangeFn::Increase => "increase",
            RangeFn::AvgOverTime => "avg_over_time",
            RangeFn::MinOverTime => "min_over_time",
            RangeFn::MaxOverTime => "max_over_time",
            RangeFn::AbsentOverTime => "absent_over_time",
        }
    }
}

impl ArithOp {
    fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// A metric name and label matchers, with the regular expressions compiled once.
///
/// A label a series lacks compares as the empty string, as in Prometheus; regular
/// expressions are anchored (`=~"5.."` must match the whole value).
#[derive(Debug, Clone)]
pub struct Selector {
    /// The metric name.
    pub name: String,
    /// All must match.
    pub matchers: Vec<Matcher>,
    // One per matcher: the anchored pattern of `=~` / `!~`, `None` for `=` / `!=`.
    regexes: Vec<Option<Regex>>,
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.matchers == other.matchers
    }
}

impl Selector {
    /// A selector of `name` with `matchers`; `InvalidInput` for a pattern that does not
    /// compile.
    pub fn new(name: impl Into<String>, matchers: Vec<Matcher>) -> Result<Self> {
        let regexes = matchers
            .iter()
            .map(|m| match m.op {
                MatchOp::Equal | MatchOp::NotEqual => Ok(None),
                MatchOp::Regex | MatchOp::NotRegex => Regex::new(&format!("^(?:{})$", m.value))
                    .map(Some)
                    .map_err(|e| {
                        Error::invalid_input(
                            "expr",
                            format!("label {}: bad regular expression: {e}", m.name),
                        )
                    }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            name: name.into(),
            matchers,
            regexes,
        })
    }

    /// Whether a series with `labels` (its name aside) is selected.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().zip(&self.regexes).all(|(m, re)| {
            let v = labels.get(&m.name).map_or("", String::as_str);
            match (m.op, re) {
                (MatchOp::Equal, _) => v == m.value,
                (MatchOp::NotEqual, _) => v != m.value,
                (MatchOp::Regex, Some(re)) => re.is_match(v),
                (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
                // `new` compiles a regex for every regex matcher.
                (MatchOp::Regex | MatchOp::NotRegex, None) => false,
            }
        })
    }
}

impl Expr {
    /// Parses `text`; `InvalidInput { field: "expr" }` saying what was expected at which
    /// column.
    pub fn parse(text: &str) -> Result<Expr> {
        parse::parse(text)
    }

    /// The metric names the expression reads, as written (a histogram's base name), for
    /// refusing a rule that names an unknown metric.
    pub fn metric_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Number(_) => {}
            Expr::Select(s) | Expr::Absent(s) => {
                out.insert(s.name.clone());
            }
            Expr::Range { selector, .. } | Expr::HistogramQuantile { selector, .. } => {
                out.insert(selector.name.clone());
            }
            Expr::Neg(e) => e.collect_names(out),
            Expr::Arith { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                lhs.collect_names(out);
                rhs.collect_names(out);
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_names(out);
                b.collect_names(out);
            }
        }
    }

    /// The longest range window the expression reads (zero without one): with
    /// [`STALENESS`], how much history a [`SeriesSource`] must keep for it.
    pub fn max_window(&self) -> Duration {
        match self {
            Expr::Range { window, .. } | Expr::HistogramQuantile { window, .. } => *window,
            Expr::Neg(e) => e.max_window(),
            Expr::Arith { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                lhs.max_window().max(rhs.max_window())
            }
            Expr::And(a, b) | Expr::Or(a, b) => a.max_window().max(b.max_window()),
            Expr::Number(_) | Expr::Select(_) | Expr::Absent(_) => Duration::ZERO,
        }
    }

    /// Whether the expression is a condition (a comparison, `and`, `or`) rather than a bare
    /// value; a rule's `recover` must be one.
    pub fn is_condition(&self) -> bool {
        matches!(self, Expr::Compare { .. } | Expr::And(..) | Expr::Or(..))
    }

    // Binding strength, loosest first; Display parenthesises a child looser than its slot.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Compare { .. } => 3,
            Expr::Arith {
                op: ArithOp::Add | ArithOp::Sub,
                ..
            } => 4,
            Expr::Arith { .. } => 5,
            Expr::Neg(_) => 6,
            _ => 7,
        }
    }

    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            f.write_str("(")?;
            self.fmt_at(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Select(s) => write!(f, "{s}"),
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.fmt_at(f, 6)
            }
            // Left-associative: the right operand of an equal-strength operator needs
            // parentheses (`a - (b - c)`); comparisons do not chain, so both sides do.
            Expr::Or(a, b) => binary(f, a, "or", b, 1, 2),
            Expr::And(a, b) => binary(f, a, "and", b, 2, 3),
            Expr::Compare { op, lhs, rhs } => binary(f, lhs, op.symbol(), rhs, 4, 4),
            Expr::Arith { op, lhs, rhs } => {
                let p = self.precedence();
                binary(f, lhs, op.symbol(), rhs, p, p + 1)
            }
            Expr::Range {
                func,
                selector,
                window,
            } => write!(
                f,
                "{}({selector}[{}])",
                func.name(),
                format_duration(*window)
            ),
            Expr::HistogramQuantile {
                q,
                selector,
                window,
            } => write!(
                f,
                "histogram_quantile({q}, {selector}[{}])",
                format_duration(*window)
            ),
            Expr::Absent(s) => write!(f, "absent({s})"),
        }
    }
}

fn binary(
    f: &mut fmt::Formatter<'_>,
    lhs: &Expr,
    op: &str,
    rhs: &Expr,
    lmin: u8,
    rmin: u8,
) -> fmt::Result {
    lhs.fmt_at(f, lmin)?;
    write!(f, " {op} ")?;
    rhs.fmt_at(f, rmin)
}

impl Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_at(f, 0)
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let op = match m.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Regex => "=~",
                MatchOp::NotRegex => "!~",
            };
            write!(f, "{}{op}", m.name)?;
            write_quoted(f, &m.value)?;
        }
        f.write_str("}")
    }
}

/// `s` in double quotes with `\`, `"`, newline and tab escaped: what the lexer reads back.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests;
