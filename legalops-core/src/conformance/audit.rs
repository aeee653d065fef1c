//! Conformance of [`AuditLog`]: append-only, numbered without gaps, hash-chained with
//! [`chain::entry_hash`], stored losslessly at microsecond precision; Merkle checkpoints.

use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::{BoxFuture, check, join_all, ok, unique};
use crate::audit::chain::{self, GENESIS_HASH};
use crate::audit::{AuditEntry, AuditLog, Checkpoint, NewAuditEntry, Outcome};
use crate::error::{Error, Result};

/// A time with nanoseconds, which every backend must truncate to microseconds.
const AT: OffsetDateTime = datetime!(2001-01-03 10:00:00.123456789 UTC);

fn entry(run: &str, action: &str, at: OffsetDateTime) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: format!("conf-{run}"),
        action: action.to_owned(),
        target: None,
        outcome: Outcome::Success,
        ip: None,
        user_agent: None,
        request_id: None,
        details: serde_json::Value::Null,
    }
}

/// Every field set, and details that a lossy store would change: nested objects with keys
/// out of order, unicode, escapes, integers beyond f64 precision, the extremes of i64/u64.
fn full_entry(run: &str) -> NewAuditEntry {
    NewAuditEntry {
        target: Some("conf-target ✓".to_owned()),
        outcome: Outcome::Denied,
        ip: Some("2001:db8::42".to_owned()),
        user_agent: Some("curl/8.5 «ü» \"quoted\"".to_owned()),
        request_id: Some(format!("req-{run}")),
        details: serde_json::json!({
            "z": {"nested": {"deep": [1, 2.5, -3, true, null, "x", {"b": 1, "a": 0}]}},
            "a": "ünïcödé ✓ 日本語 🚀",
            "escapes": "\"quote\" 'single' \\ back\nline\ttab \u{1b}[31m <script>",
            "empty": {},
            "list": [],
            "big": 9_007_199_254_740_993_u64,
            "max": u64::MAX,
            "min": i64::MIN,
            "fraction": 0.1,
        }),
        ..entry(run, "conformance.full", AT)
    }
}

/// Checks an [`AuditLog`]: `append` numbers from `len() + 1` without gaps, chains each
/// entry to the one before (64 zeros for the first) with [`chain::entry_hash`] over the
/// [`chain::normalize`]d entry, and returns what `entries` later returns; times come back
/// in UTC truncated to microseconds with the hash still verifying; details JSON
/// round-trips exactly; 16 concurrent appends take 16 distinct, contiguous seqs and form a
/// valid chain; `entries` pages by `from_seq` and `limit`; `put_checkpoint` is
/// `AlreadyExists` for a stored tree size and `checkpoints` ascend.
///
/// The log is append-only and global: the suite reasons relative to `len()` before it
/// and needs no other writer during the run. Checkpoints use a tree size unique to the
/// run, far beyond the log's length.
pub async fn audit_log(log: &dyn AuditLog) {
    let name = log.to_string();
    let name = name.as_str();
    let run = unique();
    let before = ok(name, "len before the suite", log.len().await);

    let written = [
        full_entry(&run),
        NewAuditEntry {
            outcome: Outcome::Failure,
            details: serde_json::json!({}),
            ..entry(&run, "conformance.empty", AT + Duration::seconds(1))
        },
        // Another offset: the log keeps UTC.
        entry(
            &run,
            "conformance.offset",
            (AT + Duration::seconds(2)).to_offset(offset!(+2)),
        ),
    ];
    let mut appended = Vec::new();
    for (i, e) in written.iter().enumerate() {
        let got = ok(name, format!("append of entry {i}"), log.append(e).await);
        let mut want = e.clone();
        chain::normalize(&mut want);
        check(
            name,
            got.entry == want && got.entry.at.offset() == UtcOffset::UTC,
            "append returns the entry normalised (UTC, whole microseconds), every other field as written",
            (&got.entry, &want),
        );
        check(
            name,
            got.seq == before + 1 + i as u64,
            format_args!("append takes seq len_before + {}", i + 1),
            got.seq,
        );
        appended.push(got);
    }
    check(
        name,
        appended[0].entry.at == datetime!(2001-01-03 10:00:00.123456 UTC),
        "nanoseconds are truncated to microseconds",
        appended[0].entry.at,
    );
    let len = ok(name, "len after appends", log.len().await);
    check(
        name,
        len == before + 3,
        "len counts the appended entries",
        (before, len),
    );

    let stored = ok(
        name,
        "entries of the appended",
        log.entries(before + 1, 10).await,
    );
    check(
        name,
        stored == appended,
        "entries returns exactly what append returned (time, details JSON, every field)",
        &stored,
    );
    verify_chain(name, log, before + 1).await;

    let got = ok(name, "entries of one", log.entries(before + 2, 1).await);
    check(
        name,
        got.as_slice() == &appended[1..2],
        "entries honours from_seq and limit",
        &got,
    );
    let got = ok(name, "entries past the end", log.entries(len + 1, 10).await);
    check(name, got.is_empty(), "entries past the end is empty", &got);
    let got = ok(
        name,
        "entries with limit 0",
        log.entries(before + 1, 0).await,
    );
    check(name, got.is_empty(), "entries with limit 0 is empty", &got);

    concurrent(log, name, &run, len).await;
    checkpoints(log, name, len).await;
}

/// Checks every entry from `from_seq` to the end: seqs ascend by one, each `prev_hash` is
/// the previous entry's hash (or [`GENESIS_HASH`] for seq 1), each `entry_hash` recomputes.
async fn verify_chain(name: &str, log: &dyn AuditLog, from_seq: u64) -> Vec<AuditEntry> {
    let mut prev = if from_seq <= 1 {
        GENESIS_HASH.to_owned()
    } else {
        let got = ok(
            name,
            "entries of the predecessor",
            log.entries(from_seq - 1, 1).await,
        );
        check(
            name,
            got.len() == 1,
            "the entry before the suite's is stored",
            &got,
        );
        got.into_iter()
            .next()
            .map(|e| e.entry_hash)
            .unwrap_or_default()
    };
    let mut out: Vec<AuditEntry> = Vec::new();
    loop {
        let next = from_seq + out.len() as u64;
        let page = ok(
            name,
            "entries while verifying",
            log.entries(next, 100).await,
        );
        if page.is_empty() {
            return out;
        }
        for e in page {
            let seq = from_seq + out.len() as u64;
            check(
                name,
                e.seq == seq,
                "entries ascend by one without gaps",
                (seq, e.seq),
            );
            check(
                name,
                e.prev_hash == prev,
                format_args!("entry {seq} chains to the previous entry's hash"),
                (&e.prev_hash, &prev),
            );
            let hash = chain::entry_hash(e.seq, &e.entry, &e.prev_hash);
            check(
                name,
                e.entry_hash == hash,
                format_args!("entry {seq}'s hash is chain::entry_hash of what is stored"),
                (&e.entry_hash, &hash),
            );
            prev = e.entry_hash.clone();
            out.push(e);
        }
    }
}

/// 16 appends at once: distinct contiguous seqs after `len`, and one valid chain.
async fn concurrent(log: &dyn AuditLog, name: &str, run: &str, len: u64) {
    let written: Vec<NewAuditEntry> = (0..16)
        .map(|i| NewAuditEntry {
            details: serde_json::json!({ "i": i }),
            ..entry(
                run,
                "conformance.concurrent",
                AT + Duration::microseconds(i),
            )
        })
        .collect();
    let calls: Vec<BoxFuture<'_, Result<AuditEntry>>> =
        written.iter().map(|e| log.append(e)).collect();
    let results = join_all(calls).await;
    let mut got: Vec<AuditEntry> = results
        .into_iter()
        .map(|r| ok(name, "concurrent append", r))
        .collect();
    got.sort_by_key(|e| e.seq);
    let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
    let want: Vec<u64> = (len + 1..=len + 16).collect();
    check(
        name,
        seqs == want,
        "16 concurrent appends take 16 distinct, contiguous seqs",
        &seqs,
    );
    let chained = verify_chain(name, log, len + 1).await;
    check(
        name,
        chained == got,
        "concurrent appends return what is stored, and form one valid chain",
        &chained,
    );
    let mut is: Vec<i64> = chained
        .iter()
        .filter_map(|e| e.entry.details["i"].as_i64())
        .collect();
    is.sort_unstable();
    check(
        name,
        is == (0..16).collect::<Vec<i64>>(),
        "every concurrent entry is stored once",
        &is,
    );
}

/// Checkpoints: `AlreadyExists` for a stored tree size (and the first is kept), ascending.
async fn checkpoints(log: &dyn AuditLog, name: &str, len: u64) {
    // Far beyond the log and unique to the run: checkpoints are global and permanent.
    let rand = u64::from_str_radix(&unique()[..12], 16).unwrap_or(0);
    let size = len + 1_000_000 + rand;
    let cp = |tree_size: u64, root: char, second: i64| Checkpoint {
        tree_size,
        root_hash: root.to_string().repeat(64),
        at: datetime!(2001-01-03 12:00 UTC) + Duration::seconds(second),
    };
    let first = cp(size, 'a', 0);
    ok(name, "put_checkpoint", log.put_checkpoint(&first).await);
    let got = log.put_checkpoint(&cp(size, 'b', 1)).await;
    assert_kind!(
        name,
        got,
        Error::AlreadyExists { .. },
        "put_checkpoint of a stored tree size"
    );
    let smaller = cp(size - 1, 'c', 2);
    ok(
        name,
        "put_checkpoint of a smaller tree",
        log.put_checkpoint(&smaller).await,
    );
    let all = ok(name, "checkpoints", log.checkpoints().await);
    check(
        name,
        all.windows(2).all(|w| w[0].tree_size < w[1].tree_size),
        "checkpoints ascend by tree size, one per size",
        all.iter().map(|c| c.tree_size).collect::<Vec<_>>(),
    );
    let ours: Vec<&Checkpoint> = all
        .iter()
        .filter(|c| c.tree_size == size || c.tree_size == size - 1)
        .collect();
    check(
        name,
        ours == [&smaller, &first],
        "checkpoints returns every field, and a refused put keeps the first",
        &ours,
    );
}
