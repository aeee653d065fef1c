//! Maintenance windows: recurring times (weekdays, a start and end time of day, an IANA
//! time zone) during which matching alerts are muted and downtime is not counted.
//!
//! Times are wall-clock times in the window's zone, so a window keeps its local hours
//! across daylight-saving changes (22:00-06:00 in New York ends at 06:00 EDT after the
//! spring change, one hour earlier in UTC). An end at or before the start runs past
//! midnight into the next day, and the listed weekday is the day the window STARTS. A local
//! time skipped by a DST change is never inside a window; one repeated is inside it twice.
//! Zones come from the system's tz database, or from the copy bundled with `jiff` where
//! the system has none.

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::matchers::{CompiledMatchers, compile};
use crate::alerting::Matcher;
use crate::error::{Error, Result};
use crate::metrics::Labels;

/// The longest window name accepted (bytes).
pub const MAX_WINDOW_NAME: usize = 128;

/// A recurring maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Unique name, shown when it mutes an alert.
    pub name: String,
    /// Days the window starts on: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`.
    pub weekdays: Vec<String>,
    /// Start time of day, `HH:MM` (00:00 to 23:59).
    pub start: String,
    /// End time of day, `HH:MM` (00:00 to 24:00); at or before `start` it is on the next day.
    pub end: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Which alerts it mutes; empty = every alert.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
}

impl MaintenanceWindow {
    /// Checks the window: `InvalidConfig` naming the field
    /// (`alerting.maintenance_windows[NAME].timezone`).
    pub fn validate(&self) -> Result<()> {
        CompiledWindow::new(
            self,
            &format!("alerting.maintenance_windows[{}]", self.name),
        )
        .map(|_| ())
    }
}

/// Checks a list of windows: each valid, names unique. Keys name the index
/// (`alerting.maintenance_windows[2].start`).
pub fn validate_windows(windows: &[MaintenanceWindow]) -> Result<()> {
    for (i, w) in windows.iter().enumerate() {
        let prefix = format!("alerting.maintenance_windows[{i}]");
        CompiledWindow::new(w, &prefix)?;
        if windows[..i].iter().any(|o| o.name == w.name) {
            return Err(Error::invalid_config(
                format!("{prefix}.name"),
                format!("{:?} is used by another window", w.name),
            ));
        }
    }
    Ok(())
}

/// Whether `now` falls inside the window (matchers aside). An invalid window (refused by
/// [`MaintenanceWindow::validate`]) is never open.
pub fn in_window(w: &MaintenanceWindow, now: OffsetDateTime) -> bool {
    CompiledWindow::new(w, "").is_ok_and(|c| c.contains(now))
}

/// The windows open at `now` whose matchers match `labels`.
pub fn active_windows<'a>(
    windows: &'a [MaintenanceWindow],
    labels: &Labels,
    now: OffsetDateTime,
) -> Vec<&'a MaintenanceWindow> {
    windows
        .iter()
        .filter_map(|w| CompiledWindow::new(w, "").ok())
        .filter(|c| c.contains(now) && c.matchers.matches(labels))
        .map(|c| c.window)
        .collect()
}

/// A window parsed once: zone looked up, times in minutes of the day, matchers compiled.
pub(super) struct CompiledWindow<'a> {
    pub(super) window: &'a MaintenanceWindow,
    zone: TimeZone,
    days: [bool; 7],
    start: u16,
    end: u16,
    pub(super) matchers: CompiledMatchers,
}

impl<'a> CompiledWindow<'a> {
    pub(super) fn new(w: &'a MaintenanceWindow, prefix: &str) -> Result<Self> {
        let bad = |field: &str, message: String| {
            Error::invalid_config(format!("{prefix}.{field}"), message)
        };
        if w.name.trim().is_empty() || w.name.len() > MAX_WINDOW_NAME {
            return Err(bad("name", format!("must be 1 to {MAX_WINDOW_NAME} bytes")));
        }
        if w.weekdays.is_empty() {
            return Err(bad(
                "weekdays",
                "at least one day (mon..sun) is required".into(),
            ));
        }
        let mut days = [false; 7];
        for d in &w.weekdays {
            let i = weekday_index(d).ok_or_else(|| {
                bad(
                    "weekdays",
                    format!("{d:?} is not one of mon, tue, wed, thu, fri, sat, sun"),
                )
            })?;
            days[i] = true;
        }
        let start = time_of_day(&w.start)
            .filter(|m| *m < 24 * 60)
            .ok_or_else(|| {
                bad(
                    "start",
                    format!("{:?} is not a time HH:MM from 00:00 to 23:59", w.start),
                )
            })?;
        let end = time_of_day(&w.end).ok_or_else(|| {
            bad(
                "end",
                format!("{:?} is not a time HH:MM from 00:00 to 24:00", w.end),
            )
        })?;
        if end == start {
            return Err(bad(
                "end",
                "must differ from start (00:00 to 24:00 is a whole day)".into(),
            ));
        }
        let zone = TimeZone::get(&w.timezone).map_err(|_| {
            bad(
                "timezone",
                format!("{:?} is not a known IANA time zone", w.timezone),
            )
        })?;
        let matchers = compile(&w.matchers).map_err(|e| match e {
            Error::InvalidInput { field, message } => bad(&field, message),
            other => other,
        })?;
        Ok(Self {
            window: w,
            zone,
            days,
            start,
            end,
            matchers,
        })
    }

    pub(super) fn contains(&self, now: OffsetDateTime) -> bool {
        let Ok(ts) = Timestamp::from_nanosecond(now.unix_timestamp_nanos()) else {
            return false;
        };
        let local = self.zone.to_datetime(ts);
        // A civil time has hour 0..=23 and minute 0..=59, so this is 0..1440 and never fails.
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
            .unwrap_or_default();
        let today = day_index(local.weekday());
        let yesterday = day_index(local.weekday().previous());
        if self.start < self.end {
            self.days[today] && (self.start..self.end).contains(&minute)
        } else {
            (self.days[today] && minute >= self.start)
                || (self.days[yesterday] && minute < self.end)
        }
    }
}

fn weekday_index(name: &str) -> Option<usize> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))
}

fn day_index(day: Weekday) -> usize {
    usize::from(day.to_monday_zero_offset().unsigned_abs())
}

/// `HH:MM` as minutes of the day (24:00 allowed, as an end).
fn time_of_day(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (0..=23, 0..=59) | (24, 0) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::MatchOp;
    use time::macros::datetime;

    fn window(days: &[&str], start: &str, end: &str, tz: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            name: "nightly".to_owned(),
            weekdays: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.to_owned(),
            end: end.to_owned(),
            timezone: tz.to_owned(),
            matchers: vec![],
        }
    }

    #[test]
    fn a_plain_window_is_open_from_start_to_end_on_its_days() {
        // 2026-03-02 is a Monday.
        let w = window(&["mon", "WED"], "09:00", "17:30", "UTC");
        let cases = [
            (datetime!(2026-03-02 08:59 UTC), false),
            (datetime!(2026-03-02 09:00 UTC), true),
            (datetime!(2026-03-02 17:29:59 UTC), true),
            (datetime!(2026-03-02 17:30 UTC), false),
            (datetime!(2026-03-03 12:00 UTC), false), // Tuesday
            (datetime!(2026-03-04 12:00 UTC), true),  // Wednesday
        ];
        for (now, want) in cases {
            assert_eq!(in_window(&w, now), want, "{now}");
        }
        let whole = window(&["sun"], "00:00", "24:00", "UTC");
        assert!(in_window(&whole, datetime!(2026-03-01 23:59:59 UTC)));
        assert!(!in_window(&whole, datetime!(2026-03-02 00:00 UTC)));
    }

    #[test]
    fn a_window_past_midnight_belongs_to_the_day_it_starts() {
        // Friday 23:00 to Saturday 01:00, Europe/Berlin (UTC+1 in March before the change).
        let w = window(&["fri"], "23:00", "01:00", "Europe/Berlin");
        let cases = [
            (datetime!(2026-03-06 21:59 UTC), false), // Fri 22:59
            (datetime!(2026-03-06 22:00 UTC), true),  // Fri 23:00
            (datetime!(2026-03-06 23:30 UTC), true),  // Sat 00:30, started Friday
            (datetime!(2026-03-07 00:00 UTC), false), // Sat 01:00
            (datetime!(2026-03-07 22:30 UTC), false), // Sat 23:30: Saturday is not listed
            (datetime!(2026-03-05 23:30 UTC), false), // Fri 00:30: started Thursday
        ];
        for (now, want) in cases {
            assert_eq!(in_window(&w, now), want, "{now}");
        }
    }

    #[test]
    fn windows_keep_local_hours_across_dst_in_new_york() {
        // Saturday 22:00 to Sunday 06:00 local time.
        let w = window(&["sat"], "22:00", "06:00", "America/New_York");
        let cases = [
            // Spring forward, Sunday 2026-03-08 02:00 EST -> 03:00 EDT.
            (datetime!(2026-03-08 02:59 UTC), false), // Sat 21:59 EST
            (datetime!(2026-03-08 03:00 UTC), true),  // Sat 22:00 EST
            (datetime!(2026-03-08 06:59 UTC), true),  // Sun 01:59 EST
            (datetime!(2026-03-08 07:00 UTC), true),  // Sun 03:00 EDT
            (datetime!(2026-03-08 09:59 UTC), true),  // Sun 05:59 EDT
            (datetime!(2026-03-08 10:00 UTC), false), // Sun 06:00 EDT: closed
            (datetime!(2026-03-08 10:30 UTC), false), // a fixed UTC-5 would say 05:30, open
            // Fall back, Sunday 2026-11-01 02:00 EDT -> 01:00 EST.
            (datetime!(2026-11-01 01:59 UTC), false), // Sat 21:59 EDT
            (datetime!(2026-11-01 02:00 UTC), true),  // Sat 22:00 EDT
            (datetime!(2026-11-01 10:30 UTC), true),  // Sun 05:30 EST
            (datetime!(2026-11-01 11:00 UTC), false), // Sun 06:00 EST
        ];
        for (now, want) in cases {
            assert_eq!(in_window(&w, now), want, "{now}");
        }
    }

    #[test]
    fn a_local_hour_skipped_by_dst_is_never_in_a_window() {
        let w = window(&["sun"], "02:00", "03:00", "America/New_York");
        assert!(!in_window(&w, datetime!(2026-03-08 06:59 UTC))); // 01:59 EST
        assert!(!in_window(&w, datetime!(2026-03-08 07:00 UTC))); // 03:00 EDT
        // A week later the hour exists again.
        assert!(in_window(&w, datetime!(2026-03-15 06:30 UTC))); // 02:30 EDT
    }

    #[test]
    fn active_windows_apply_matchers() {
        let mut db = window(&["sun"], "00:00", "24:00", "UTC");
        db.name = "db".into();
        db.matchers = vec![Matcher {
            name: "service".into(),
            op: MatchOp::Equal,
            value: "database".into(),
        }];
        let all = window(&["sun"], "01:00", "02:00", "UTC");
        let windows = vec![db, all];
        let now = datetime!(2026-03-01 01:30 UTC);
        let labels_db: Labels = [("service".to_owned(), "database".to_owned())].into();
        let names =
            |v: Vec<&MaintenanceWindow>| v.into_iter().map(|w| w.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(active_windows(&windows, &labels_db, now)),
            ["db", "nightly"]
        );
        assert_eq!(
            names(active_windows(&windows, &Labels::new(), now)),
            ["nightly"]
        );
        assert!(active_windows(&windows, &labels_db, datetime!(2026-03-02 01:30 UTC)).is_empty());
    }

    #[test]
    fn invalid_windows_are_refused_naming_the_field() {
        let ok = window(&["mon"], "22:00", "02:00", "Europe/London");
        ok.validate().expect("valid");
        let cases: Vec<(&str, MaintenanceWindow)> = vec![
            (
                "timezone",
                MaintenanceWindow {
                    timezone: "Mars/Olympus".into(),
                    ..ok.clone()
                },
            ),
            (
                "timezone",
                MaintenanceWindow {
                    timezone: String::new(),
                    ..ok.clone()
                },
            ),
            (
                "weekdays",
                MaintenanceWindow {
                    weekdays: vec![],
                    ..ok.clone()
                },
            ),
            (
                "weekdays",
                MaintenanceWindow {
                    weekdays: vec!["monday".into()],
                    ..ok.clone()
                },
            ),
            (
                "start",
                MaintenanceWindow {
                    start: "7:00".into(),
                    ..ok.clone()
                },
            ),
            (
                "start",
                MaintenanceWindow {
                    start: "24:00".into(),
                    ..ok.clone()
                },
            ),
            (
                "start",
                MaintenanceWindow {
                    start: "12:60".into(),
                    ..ok.clone()
                },
            ),
            (
                "start",
                MaintenanceWindow {
                    start: "ab:cd".into(),
                    ..ok.clone()
                },
            ),
            (
                "end",
                MaintenanceWindow {
                    end: "24:01".into(),
                    ..ok.clone()
                },
            ),
            (
                "end",
                MaintenanceWindow {
                    end: "+1:00".into(),
                    ..ok.clone()
                },
            ),
            (
                "end",
                MaintenanceWindow {
                    end: "22:00".into(),
                    ..ok.clone()
                },
            ),
            (
                "name",
                MaintenanceWindow {
                    name: " ".into(),
                    ..ok.clone()
                },
            ),
            (
                "matchers[0].value",
                MaintenanceWindow {
                    matchers: vec![Matcher {
                        name: "a".into(),
                        op: MatchOp::Regex,
                        value: "(".into(),
                    }],
                    ..ok.clone()
                },
            ),
        ];
        for (field, w) in cases {
            match w.validate() {
                Err(Error::InvalidConfig { key, .. }) => {
                    assert_eq!(
                        key,
                        format!("alerting.maintenance_windows[{}].{field}", w.name)
                    );
                }
                other => panic!("{field}: {other:?}"),
            }
            assert!(
                !in_window(&w, datetime!(2026-03-02 23:00 UTC)),
                "an invalid window never opens"
            );
        }
        match validate_windows(&[ok.clone(), ok]) {
            Err(Error::InvalidConfig { key, .. }) => {
                assert_eq!(key, "alerting.maintenance_windows[1].name")
            }
            other => panic!("{other:?}"),
        }
    }
}
