//! promtool's expanding notation for input values: `0+10x20 _ _x3 stale 5x2`.

use super::MAX_STEPS;

/// One expanded input value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    /// A sample.
    Sample(f64),
    /// No sample at this step.
    Missing,
    /// The series ends here.
    Stale,
}

/// Expands promtool's notation (`0+10x20 _ stale 5x3 _x2`).
pub(super) fn expand(values: &str) -> std::result::Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for tok in values.split_whitespace() {
        let more = match tok {
            "_" => vec![Value::Missing],
            "stale" => vec![Value::Stale],
            _ if tok.starts_with("_x") => {
                let n = steps(&tok[2..], tok)?;
                vec![Value::Missing; n as usize]
            }
            _ => match tok.rsplit_once('x') {
                None => vec![Value::Sample(number(tok, tok)?)],
                Some((lhs, n)) => {
                    let n = steps(n, tok)?;
                    // The operator is the first '+'/'-' past the start that is not an
                    // exponent's sign (`1e-3+1x2`).
                    let b = lhs.as_bytes();
                    let op = (1..b.len()).find(|&i| {
                        (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E')
                    });
                    let (a, step) = match op {
                        None => (number(lhs, tok)?, 0.0),
                        Some(i) => {
                            let step = number(&lhs[i + 1..], tok)?;
                            let a = number(&lhs[..i], tok)?;
                            (a, if b[i] == b'-' { -step } else { step })
                        }
                    };
                    (0..=n)
                        .map(|i| Value::Sample(a + step * i as f64))
                        .collect()
                }
            },
        };
        out.extend(more);
        if out.len() as u64 > MAX_STEPS {
            return Err(format!("expands to more than {MAX_STEPS} values"));
        }
    }
    Ok(out)
}

fn steps(n: &str, tok: &str) -> std::result::Result<u64, String> {
    match n.parse::<u64>() {
        Ok(n) if n <= MAX_STEPS => Ok(n),
        Ok(_) => Err(format!("`{tok}` expands to more than {MAX_STEPS} values")),
        Err(_) => Err(format!(
            "`{tok}`: the count after `x` must be a whole number"
        )),
    }
}

fn number(s: &str, tok: &str) -> std::result::Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| !v.is_nan())
        .ok_or_else(|| {
            format!("`{tok}` is not a value (a number, a+bxn, a-bxn, axn, _, _xn or stale)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expand_like_promtool() {
        use Value::{Missing, Sample, Stale};
        assert_eq!(
            expand("0+10x2").ok(),
            Some(vec![Sample(0.0), Sample(10.0), Sample(20.0)])
        );
        assert_eq!(
            expand("5-2x2").ok(),
            Some(vec![Sample(5.0), Sample(3.0), Sample(1.0)])
        );
        assert_eq!(expand("-1+1x1").ok(), Some(vec![Sample(-1.0), Sample(0.0)]));
        assert_eq!(
            expand("1e-3+1x1").ok(),
            Some(vec![Sample(0.001), Sample(1.001)])
        );
        assert_eq!(expand("7x2").ok(), Some(vec![Sample(7.0); 3]));
        assert_eq!(
            expand("_ _x2 stale 4").ok(),
            Some(vec![Missing, Missing, Missing, Stale, Sample(4.0)])
        );
        assert_eq!(expand("").ok(), Some(vec![]));
        for bad in [
            "x",
            "1+x2",
            "1+1x",
            "1+1x-2",
            "abc",
            "1+1x99999999999",
            "0+1x60000 0+1x60000",
            "NaN",
        ] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }
}
