//! Quantiles estimated from cumulative histogram buckets, the way Prometheus'
//! `histogram_quantile` does: find the bucket holding the rank and interpolate linearly
//! inside it, assuming observations spread evenly across the bucket.

/// The `q`-quantile (0 to 1) of a histogram with `buckets` as `(upper bound, cumulative
/// count)` ascending and `count` observations in all (`+Inf` implied).
///
/// `None` when there are no observations or `q` is outside 0..=1. The first bucket starts
/// at 0 (or is a point, if its bound is not positive); a rank in the `+Inf` bucket answers
/// the largest finite bound, since nothing is known above it. Malformed input (bounds out
/// of order, counts going down) gives a meaningless number, never a panic.
pub fn quantile(buckets: &[(f64, u64)], count: u64, q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let total = buckets.iter().map(|b| b.1).fold(count, u64::max);
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut prev_count = 0u64;
    let mut lower = 0.0;
    for (i, &(upper, cumulative)) in buckets.iter().enumerate() {
        // Skip empty buckets so that q = 0 lands on the first observation, not on 0/0.
        if cumulative > prev_count && cumulative as f64 >= rank {
            if i == 0 && upper <= 0.0 {
                return Some(upper);
            }
            let in_bucket = (cumulative - prev_count) as f64;
            let into = (rank - prev_count as f64).max(0.0);
            return Some(lower + (upper - lower) * (into / in_bucket));
        }
        prev_count = prev_count.max(cumulative);
        lower = upper;
    }
    // The rank lies in +Inf: answer the largest finite bound (or none without buckets).
    buckets.last().map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: [(f64, u64); 3] = [(0.1, 10), (0.5, 60), (1.0, 100)];

    #[test]
    fn interpolates_inside_the_bucket_holding_the_rank() {
        assert_eq!(quantile(&B, 100, 0.05), Some(0.05));
        // Rank 35 is halfway through the 0.1..0.5 bucket (10..60).
        let q35 = quantile(&B, 100, 0.35).unwrap_or_default();
        assert!((q35 - 0.3).abs() < 1e-12, "{q35}");
        assert_eq!(quantile(&B, 100, 1.0), Some(1.0));
    }

    #[test]
    fn rank_past_the_last_bound_answers_that_bound() {
        assert_eq!(quantile(&B, 200, 0.99), Some(1.0));
    }

    #[test]
    fn no_observations_or_bad_q_is_none() {
        assert_eq!(quantile(&[(0.1, 0)], 0, 0.5), None);
        assert_eq!(quantile(&B, 100, 1.5), None);
        assert_eq!(quantile(&B, 100, f64::NAN), None);
        assert_eq!(quantile(&[], 5, 0.5), None);
    }

    #[test]
    fn q_zero_lands_on_the_first_non_empty_bucket() {
        assert_eq!(quantile(&[(1.0, 0), (2.0, 4)], 4, 0.0), Some(1.0));
    }

    /// Ascending bounds with non-decreasing cumulative counts, and a count at least the last.
    fn histogram() -> impl Strategy<Value = (Vec<(f64, u64)>, u64)> {
        proptest::collection::vec((0.001f64..100.0, 0u64..50), 1..12).prop_flat_map(|steps| {
            let mut bound = 0.0;
            let mut cum = 0;
            let buckets: Vec<(f64, u64)> = steps
                .into_iter()
                .map(|(w, n)| {
                    bound += w;
                    cum += n;
                    (bound, cum)
                })
                .collect();
            let last = cum;
            (Just(buckets), last..last + 20)
        })
    }

    proptest! {
        #[test]
        fn quantile_is_monotone_in_q((buckets, count) in histogram(), a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            if let (Some(x), Some(y)) = (quantile(&buckets, count, lo), quantile(&buckets, count, hi)) {
                prop_assert!(x <= y + 1e-9, "q {lo} -> {x}, q {hi} -> {y}");
            }
        }

        #[test]
        fn quantile_stays_within_the_bucket_bounds((buckets, count) in histogram(), q in 0.0f64..=1.0) {
            if let Some(v) = quantile(&buckets, count, q) {
                let max = buckets.last().map_or(0.0, |b| b.0);
                prop_assert!((0.0..=max + 1e-9).contains(&v), "{v} outside 0..={max}");
                // Inside the bucket that holds the rank.
                let rank = q * count as f64;
                if let Some(i) = buckets.iter().position(|b| b.1 as f64 >= rank && b.1 > 0) {
                    let lower = if i == 0 { 0.0 } else { buckets[i - 1].0 };
                    prop_assert!(v >= lower - 1e-9 && v <= buckets[i].0 + 1e-9);
                }
            }
        }
    }
}
