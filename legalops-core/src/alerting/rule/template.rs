//! Annotation templates: `{{ $value }}` and `{{ $labels.NAME }}`, nothing else, so that a
//! typo is an error when the rule file loads rather than a blank in a 3 a.m. page.

use crate::error::{Error, Result};
use crate::metrics::Labels;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Value,
    Label(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(Error::invalid_input(
                "template",
                format!("`{{{{` without `}}}}` in `{template}`"),
            ));
        };
        let var = after[..close].trim();
        out.push(match var.strip_prefix("$labels.") {
            Some(name) if !name.is_empty() => Piece::Label(name),
            _ if var == "$value" => Piece::Value,
            _ => {
                return Err(Error::invalid_input(
                    "template",
                    format!("unknown template variable `{var}` (use {{{{ $value }}}} or {{{{ $labels.NAME }}}})"),
                ));
            }
        });
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Refuses a template that does not parse or names a label not in `labels`.
pub(crate) fn check(template: &str, labels: &Labels) -> Result<()> {
    render(template, None, labels).map(|_| ())
}

/// Renders `template` with `$value` = `value` and `$labels` = `labels`; `InvalidInput {
/// field: "template" }` for an unknown variable or label, or an unclosed `{{`.
pub fn render(template: &str, value: Option<f64>, labels: &Labels) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    for p in pieces(template)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Value => out.push_str(&format_value(value)),
            Piece::Label(name) => match labels.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    let known: Vec<&str> = labels.keys().map(String::as_str).collect();
                    return Err(Error::invalid_input(
                        "template",
                        format!(
                            "`$labels.{name}` is not a label of this rule (it has: {})",
                            known.join(", ")
                        ),
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// `$value` as text: up to 4 decimals at or above 1 (`12.3457`), 4 significant digits
/// below (`0.001235`), no trailing zeros, `no data` for `None`.
pub fn format_value(value: Option<f64>) -> String {
    let Some(v) = value else {
        return "no data".to_owned();
    };
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = v.abs();
    let decimals = if abs >= 1.0 || abs == 0.0 {
        4
    } else {
        // 4 significant digits: 0.01234 has its first digit at 10^-2.
        let first = abs.log10().floor() as i32;
        (3 - first).clamp(4, 20) as usize
    };
    if abs != 0.0 && abs < 1e-16 {
        return format!("{v:.3e}");
    }
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        [("alertname", "HighErrorRate"), ("team", "ops")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn renders_value_and_labels() {
        let out = render(
            "{{ $labels.alertname }}: {{$value}}% for {{ $labels.team }}",
            Some(5.123456),
            &labels(),
        );
        assert_eq!(out.ok().as_deref(), Some("HighErrorRate: 5.1235% for ops"));
    }

    #[test]
    fn no_data_renders_as_no_data() {
        assert_eq!(
            render("v={{ $value }}", None, &labels()).ok().as_deref(),
            Some("v=no data")
        );
    }

    #[test]
    fn values_keep_four_significant_decimals() {
        assert_eq!(format_value(Some(7.0)), "7");
        assert_eq!(format_value(Some(12_345.678_91)), "12345.6789");
        assert_eq!(format_value(Some(0.012_345_6)), "0.01235");
        assert_eq!(format_value(Some(0.5)), "0.5");
        assert_eq!(format_value(Some(-2.25)), "-2.25");
        assert_eq!(format_value(Some(0.0)), "0");
        assert_eq!(format_value(Some(-0.000_01)), "-0.00001");
        assert_eq!(format_value(Some(f64::NAN)), "NaN");
        assert_eq!(format_value(Some(f64::INFINITY)), "+Inf");
        assert_eq!(format_value(Some(1e-300)), "1.000e-300");
    }

    #[test]
    fn unknown_variables_and_labels_are_refused_by_name() {
        let e = render("{{ $valeu }}", Some(1.0), &labels()).expect_err("typo");
        assert!(e.to_string().contains("`$valeu`"), "{e}");
        let e = render("{{ $labels.owner }}", Some(1.0), &labels()).expect_err("no such label");
        assert!(
            e.to_string().contains("$labels.owner") && e.to_string().contains("team"),
            "{e}"
        );
        let e = check("{{ $value", &labels()).expect_err("unclosed");
        assert!(e.to_string().contains("without"), "{e}");
        assert!(check("{{ $labels. }}", &labels()).is_err());
    }

    #[test]
    fn text_without_templates_is_kept_as_is() {
        assert_eq!(
            render("a } b }} c", None, &labels()).ok().as_deref(),
            Some("a } b }} c")
        );
    }
}
