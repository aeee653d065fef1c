//! Tokenizer and recursive-descent parser of the rule expression language (grammar in
//! [`super`]). Errors say what was expected at which column (1-based, in characters), so
//! that an operator can fix a rule file without guessing. Input size and nesting are
//! bounded so that no input can exhaust the stack.

use std::fmt::Display;
use std::time::Duration;

use super::{ArithOp, CmpOp, Expr, RangeFn, Selector};
use crate::alerting::rule::parse_duration;
use crate::alerting::{MatchOp, Matcher};
use crate::error::{Error, Result};
use crate::metrics::Labels;

/// Longest expression accepted, in characters.
const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses and unary minus, and deepest tree, accepted.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Dur(Duration),
    Ident(String),
    Str(String),
    Sym(&'static str),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number `{n}`"),
            Tok::Dur(_) => "a duration".to_owned(),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".to_owned(),
            Tok::Sym(s) => format!("`{s}`"),
            Tok::Eof => "the end".to_owned(),
        }
    }
}

// Longest first, so that `>=` is not read as `>` then `=`.
const SYMBOLS: [&str; 19] = [
    ">=", "<=", "==", "!=", "=~", "!~", ">", "<", "=", "(", ")", "{", "}", "[", "]", ",", "+", "-",
    "*",
];

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

struct Lexer<'a> {
    text: &'a str,
    chars: Vec<char>,
}

impl Lexer<'_> {
    fn err(&self, col: usize, msg: impl Display) -> Error {
        Error::invalid_input("expr", format!("{msg} at column {col} in `{}`", self.text))
    }

    /// [`Lexer::err`] with advice after the position.
    fn err_hint(&self, col: usize, msg: impl Display, hint: &str) -> Error {
        Error::invalid_input(
            "expr",
            format!("{msg} at column {col} in `{}` ({hint})", self.text),
        )
    }

    /// Every token with its 1-based column.
    fn tokens(&self) -> Result<Vec<(Tok, usize)>> {
        let c = &self.chars;
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            let start = i;
            let ch = c[i];
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            let tok = if ch.is_ascii_digit()
                || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit))
            {
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                    i += 1;
                }
                // An exponent (`1e-3`) keeps it a number; other letters make a duration.
                let exp = i < c.len()
                    && (c[i] == 'e' || c[i] == 'E')
                    && (c.get(i + 1).is_some_and(char::is_ascii_digit)
                        || (matches!(c.get(i + 1), Some('+' | '-'))
                            && c.get(i + 2).is_some_and(char::is_ascii_digit)));
                if exp {
                    i += 2;
                    while i < c.len() && c[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if !exp && i < c.len() && c[i].is_ascii_alphabetic() {
                    while i < c.len() && c[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    let raw: String = c[start..i].iter().collect();
                    let d = parse_duration(&raw).map_err(|_| {
                        self.err_hint(
                            start + 1,
                            format_args!("bad duration `{raw}`"),
                            "use e.g. 5m or 1h30m",
                        )
                    })?;
                    Tok::Dur(d)
                } else {
                    let raw: String = c[start..i].iter().collect();
                    match raw.parse::<f64>() {
                        Ok(n) if n.is_finite() => Tok::Num(n),
                        _ => return Err(self.err(start + 1, format_args!("bad number `{raw}`"))),
                    }
                }
            } else if is_name_start(ch) {
                while i < c.len() && is_name_char(c[i]) {
                    i += 1;
                }
                Tok::Ident(c[start..i].iter().collect())
            } else if ch == '"' || ch == '\'' {
                i += 1;
                let mut s = String::new();
                loop {
                    match c.get(i) {
                        None => return Err(self.err(start + 1, "unterminated string")),
                        Some(&q) if q == ch => break,
                        Some('\\') => {
                            let e = match c.get(i + 1) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some(&e @ ('\\' | '"' | '\'')) => e,
                                _ => {
                                    return Err(self.err_hint(
                                        i + 1,
                                        "unknown escape",
                                        "use \\\\, \\\", \\', \\n or \\t",
                                    ));
                                }
                            };
                            s.push(e);
                            i += 2;
                        }
                        Some(&o) => {
                            s.push(o);
                            i += 1;
                        }
                    }
                }
                i += 1;
                Tok::Str(s)
            } else if ch == '/' {
                i += 1;
                Tok::Sym("/")
            } else {
                let rest: String = c[i..c.len().min(i + 2)].iter().collect();
                match SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
                    Some(s) => {
                        i += s.len();
                        Tok::Sym(s)
                    }
                    None => {
                        return Err(
                            self.err(start + 1, format_args!("unexpected character `{ch}`"))
                        );
                    }
                }
            };
            out.push((tok, start + 1));
        }
        out.push((Tok::Eof, c.len() + 1));
        Ok(out)
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

/// Parses a whole expression.
pub(super) fn parse(text: &str) -> Result<Expr> {
    let mut p = Parser::new(text)?;
    let e = p.or_expr()?;
    p.expect_end("an operator or the end")?;
    if depth(&e) > MAX_DEPTH * 2 {
        return Err(p.lexer.err(
            1,
            format_args!("expression nests deeper than {} levels", MAX_DEPTH * 2),
        ));
    }
    Ok(e)
}

/// Parses a series as the rule test harness writes it: `name{label="value", ...}` with
/// `=` matchers only, into its name and labels.
pub(crate) fn parse_series(text: &str) -> Result<(String, Labels)> {
    let mut p = Parser::new(text)?;
    let sel = p.selector()?;
    p.expect_end("the end of the series")?;
    let mut labels = Labels::new();
    for m in sel.matchers {
        if m.op != MatchOp::Equal {
            return Err(Error::invalid_input(
                "series",
                format!(
                    "label {} of `{text}`: a series names values with `=` only",
                    m.name
                ),
            ));
        }
        labels.insert(m.name, m.value);
    }
    Ok((sel.name, labels))
}

fn depth(e: &Expr) -> usize {
    1 + match e {
        Expr::Neg(a) => depth(a),
        Expr::Arith { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => depth(lhs).max(depth(rhs)),
        Expr::And(a, b) | Expr::Or(a, b) => depth(a).max(depth(b)),
        _ => 0,
    }
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self> {
        let chars: Vec<char> = text.chars().collect();
        let lexer = Lexer { text, chars };
        if lexer.chars.len() > MAX_LEN {
            return Err(Error::invalid_input(
                "expr",
                format!("longer than {MAX_LEN} characters"),
            ));
        }
        let toks = lexer.tokens()?;
        Ok(Self {
            lexer,
            toks,
            pos: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> &Tok {
        // `tokens` always ends with Eof and `next` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn col(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    fn expected(&self, what: &str) -> Error {
        Error::invalid_input(
            "expr",
            format!(
                "expected {what} at column {} in `{}` (found {})",
                self.col(),
                self.lexer.text,
                self.peek().describe()
            ),
        )
    }

    /// Consumes the next token if `f` accepts it; otherwise says `what` was expected there.
    fn take<T>(&mut self, what: &str, f: impl FnOnce(&Tok) -> Option<T>) -> Result<T> {
        match f(self.peek()) {
            Some(v) => {
                self.pos += 1;
                Ok(v)
            }
            None => Err(self.expected(what)),
        }
    }

    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(s) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, sym: &str) -> Result<()> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{sym}'")))
        }
    }

    fn expect_end(&mut self, what: &str) -> Result<()> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(s) if s == kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.lexer.err(
                self.col(),
                format_args!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut e = self.and_expr()?;
        while self.keyword("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
        }
        Ok(e)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut e = self.cmp()?;
        while self.keyword("and") {
            e = Expr::And(Box::new(e), Box::new(self.cmp()?));
        }
        Ok(e)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek() {
            Tok::Sym(">") => CmpOp::Gt,
            Tok::Sym(">=") => CmpOp::Ge,
            Tok::Sym("<") => CmpOp::Lt,
            Tok::Sym("<=") => CmpOp::Le,
            Tok::Sym("==") => CmpOp::Eq,
            Tok::Sym("!=") => CmpOp::Ne,
            _ => return None,
        })
    }

    fn cmp(&mut self) -> Result<Expr> {
        let lhs = self.sum()?;
        let Some(op) = self.cmp_op() else {
            return Ok(lhs);
        };
        self.pos += 1;
        let rhs = self.sum()?;
        if self.cmp_op().is_some() {
            return Err(self.lexer.err_hint(
                self.col(),
                "comparisons do not chain",
                "use `and`, or parentheses",
            ));
        }
        Ok(Expr::Compare {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut e = self.product()?;
        loop {
            let op = if self.eat("+") {
                ArithOp::Add
            } else if self.eat("-") {
                ArithOp::Sub
            } else {
                return Ok(e);
            };
            let rhs = self.product()?;
            e = Expr::Arith {
                op,
                lhs: Box::new(e),
                rhs: Box::new(rhs),
            };
        }
    }

    fn product(&mut self) -> Result<Expr> {
        let mut e = self.unary()?;
        loop {
            let op = if self.eat("*") {
                ArithOp::Mul
            } else if self.eat("/") {
                ArithOp::Div
            } else {
                return Ok(e);
            };
            let rhs = self.unary()?;
            e = Expr::Arith {
                op,
                lhs: Box::new(e),
                rhs: Box::new(rhs),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat("-") {
            self.nest()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        const WHAT: &str = "a number, '(', a function or a metric name";
        match self.peek().clone() {
            Tok::Num(n) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                self.nest()?;
                let e = self.or_expr()?;
                self.expect(")")?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Ident(name) if name == "and" || name == "or" => Err(self.expected(WHAT)),
            Tok::Ident(name) if matches!(self.toks.get(self.pos + 1), Some((Tok::Sym("("), _))) => {
                self.call(&name)
            }
            Tok::Ident(_) => {
                let sel = self.selector()?;
                if matches!(self.peek(), Tok::Sym("[")) {
                    return Err(self.lexer.err(
                        self.col(),
                        "a range `[...]` belongs inside rate, increase, *_over_time or histogram_quantile",
                    ));
                }
                Ok(Expr::Select(sel))
            }
            _ => Err(self.expected(WHAT)),
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr> {
        let col = self.col();
        self.pos += 2; // the name and '('
        let e = if let Some(func) = RangeFn::ALL.into_iter().find(|f| f.name() == name) {
            let (selector, window) = self.range()?;
            Expr::Range {
                func,
                selector,
                window,
            }
        } else if name == "histogram_quantile" {
            let qcol = self.col();
            let q = self.take("the quantile (a number from 0 to 1)", |t| match t {
                Tok::Num(q) => Some(*q),
                _ => None,
            })?;
            if !(0.0..=1.0).contains(&q) {
                return Err(self
                    .lexer
                    .err(qcol, format_args!("quantile {q} is outside 0 to 1")));
            }
            self.expect(",")?;
            let scol = self.col();
            let (selector, window) = self.range()?;
            if let Some(base) = selector.name.strip_suffix("_bucket") {
                return Err(self.lexer.err(
                    scol,
                    format_args!("name the histogram (`{base}`), not its `_bucket` series"),
                ));
            }
            Expr::HistogramQuantile {
                q,
                selector,
                window,
            }
        } else if name == "absent" {
            Expr::Absent(self.selector()?)
        } else {
            return Err(self.lexer.err_hint(
                col,
                format_args!("unknown function `{name}`"),
                "rate, increase, avg_over_time, min_over_time, max_over_time, \
                 absent_over_time, histogram_quantile or absent",
            ));
        };
        self.expect(")")?;
        Ok(e)
    }

    fn range(&mut self) -> Result<(Selector, Duration)> {
        let sel = self.selector()?;
        self.expect("[")?;
        let col = self.col();
        let d = self.take("a duration like 5m", |t| match t {
            Tok::Dur(d) => Some(*d),
            _ => None,
        })?;
        if d.is_zero() {
            return Err(self.lexer.err(col, "a range must be longer than 0"));
        }
        self.expect("]")?;
        Ok((sel, d))
    }

    fn selector(&mut self) -> Result<Selector> {
        let col = self.col();
        let name = self.take("a metric name", |t| match t {
            Tok::Ident(n) if n != "and" && n != "or" => Some(n.clone()),
            _ => None,
        })?;
        let mut matchers = Vec::new();
        if self.eat("{") {
            while !self.eat("}") {
                matchers.push(self.matcher()?);
                if !self.eat(",") {
                    self.expect("}")?;
                    break;
                }
            }
        }
        Selector::new(name, matchers).map_err(|e| match e {
            Error::InvalidInput { message, .. } => self.lexer.err(col, message),
            other => other,
        })
    }

    fn matcher(&mut self) -> Result<Matcher> {
        let name = self.take("a label name", |t| match t {
            Tok::Ident(n) if !n.contains(':') => Some(n.clone()),
            _ => None,
        })?;
        let op = self.take("'=', '!=', '=~' or '!~'", |t| match t {
            Tok::Sym("=") => Some(MatchOp::Equal),
            Tok::Sym("!=") => Some(MatchOp::NotEqual),
            Tok::Sym("=~") => Some(MatchOp::Regex),
            Tok::Sym("!~") => Some(MatchOp::NotRegex),
            _ => None,
        })?;
        let value = self.take("a quoted label value", |t| match t {
            Tok::Str(v) => Some(v.clone()),
            _ => None,
        })?;
        Ok(Matcher { name, op, value })
    }
}
