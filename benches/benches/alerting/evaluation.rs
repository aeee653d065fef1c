//! The first figure: what one evaluation tick of N rules costs, measured two ways side by
//! side on the same registry at the same instants:
//!
//! - the pass alone: `Rule::evaluate` over the metric history + `state::step` from the
//!   previous state, for every rule (the history's `record` of the tick's snapshot timed
//!   apart);
//! - `Evaluator::tick` over `MemoryRecords`: lease renewal, history record, the same pass,
//!   storing every state, the alerts for the notifier and the evaluator's own metrics.
//!
//! Before timing, 21 ticks (5 min 15 s) fill the 5-minute windows so that every `rate` and
//! `histogram_quantile` has data.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use legalops::core::alerting::RuleStateRecord;
use legalops::core::alerting::rule::{Rule, RuleFile};
use legalops::core::alerting::state::step;
use legalops::core::clock::ManualClock;
use legalops::core::mem::MemoryRecords;
use legalops::ops::alerting::evaluator::{Evaluator, EvaluatorConfig};
use legalops::ops::alerting::history::MetricHistory;
use legalops::ops::metrics::Registry;
use time::OffsetDateTime;
use time::macros::datetime;

use super::rules::{Traffic, rule_file};
use super::{median, percentile};

const STEP: Duration = Duration::from_secs(15);
const WARM_TICKS: u64 = 21;
const T0: OffsetDateTime = datetime!(2026-11-02 09:00 UTC);

/// The rule pass without the evaluator: evaluate and step every rule.
struct Pass {
    rules: Vec<Rule>,
    history: MetricHistory,
    states: BTreeMap<String, RuleStateRecord>,
}

impl Pass {
    /// Evaluates every rule at `at`; returns how many are firing.
    fn run(&mut self, at: OffsetDateTime) -> usize {
        let mut firing = 0;
        for rule in &self.rules {
            let input = rule.evaluate(&self.history, at);
            let (next, _) = step(
                &rule.timing(),
                self.states.get(&rule.name),
                &rule.name,
                &input,
            );
            firing += usize::from(next.state == legalops::core::alerting::AlertState::Firing);
            self.states.insert(rule.name.clone(), next);
        }
        firing
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn line(label: &str, ticks_ms: &[f64], rules: usize) {
    let (med, p95) = (median(ticks_ms), percentile(ticks_ms, 0.95));
    println!(
        "  {label:<40} median {med:>8.3} ms/tick  p95 {p95:>8.3} ms/tick  ({:>6.2} us/rule)",
        med * 1e3 / rules as f64
    );
}

/// Times `ticks` ticks per round of both ways over `rule_count` rules, interleaved.
pub async fn evaluation_cost(rounds: usize, ticks: usize, rule_count: usize) {
    let text = rule_file(rule_count);
    let parse_start = Instant::now();
    let rules = RuleFile::parse(&text, "bench-rules.toml").expect("generated rules parse");
    let parse_ms = ms(parse_start.elapsed());

    let registry = Registry::new();
    let mut traffic = Traffic::new(&registry);
    let clock = ManualClock::new(T0);
    let records = Arc::new(MemoryRecords::new());
    let evaluator = Evaluator::new(
        rules.clone(),
        registry.clone(),
        records.clone(),
        records,
        Arc::new(clock.clone()),
        "bench-replica",
        EvaluatorConfig::default(),
    )
    .expect("the generated rules name known metrics");
    let mut pass = Pass {
        history: MetricHistory::for_rules(&rules),
        rules,
        states: BTreeMap::new(),
    };

    // Fill the windows: both ways see the same snapshots at the same instants.
    let mut tick = 0u64;
    for _ in 0..WARM_TICKS {
        tick += 1;
        clock.advance(STEP);
        traffic.advance(tick);
        let at = T0 + STEP * tick as u32;
        pass.history.record(&registry.snapshot(at));
        pass.run(at);
        evaluator.tick().await.expect("in-memory tick");
    }

    let (mut pass_ms, mut record_ms, mut tick_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut firing = 0;
    let mut stored = 0;
    for round in 0..rounds {
        for t in 0..ticks {
            tick += 1;
            clock.advance(STEP);
            traffic.advance(tick);
            let at = T0 + STEP * tick as u32;
            // Alternate which goes first, so that cache warmth favours neither.
            let pass_first = (round + t) % 2 == 0;
            if !pass_first {
                tick_ms.push(timed_tick(&evaluator, &mut stored).await);
            }
            let start = Instant::now();
            let snapshot = registry.snapshot(at);
            pass.history.record(&snapshot);
            record_ms.push(ms(start.elapsed()));
            let start = Instant::now();
            firing = pass.run(at);
            pass_ms.push(ms(start.elapsed()));
            if pass_first {
                tick_ms.push(timed_tick(&evaluator, &mut stored).await);
            }
        }
    }

    let n = pass.rules.len();
    let pending = pass
        .states
        .values()
        .filter(|s| s.state == legalops::core::alerting::AlertState::Pending)
        .count();
    println!(
        "alerting bench: evaluation of {n} rules per tick, {rounds} rounds x {ticks} ticks, \
         15 s steps after {WARM_TICKS} warm-up ticks"
    );
    println!(
        "  registry: {} series; rules file parsed and compiled in {parse_ms:.1} ms; \
         at the end {firing} firing, {pending} pending",
        registry.snapshot(T0).samples.len()
    );
    line("snapshot + history record", &record_ms, n);
    line("evaluate + step (every rule)", &pass_ms, n);
    line("Evaluator::tick (MemoryRecords)", &tick_ms, n);
    println!(
        "  ratio tick / (record + pass): {:.2}  ({stored} states stored per tick)",
        median(&tick_ms) / (median(&record_ms) + median(&pass_ms))
    );
}

async fn timed_tick(evaluator: &Evaluator, stored: &mut usize) -> f64 {
    let start = Instant::now();
    let outcome = evaluator.tick().await.expect("in-memory tick");
    let took = ms(start.elapsed());
    assert!(outcome.evaluated, "the only replica holds the lease");
    *stored = outcome.states.len();
    took
}
