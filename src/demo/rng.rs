//! The demo's one random generator: SplitMix64, seeded, the same sequence on every platform.
//!
//! Two families of draws share it. The enterprise generator draws integers only (`below`,
//! `range`, `chance_per_mille`, `pick`, `pick_weighted`), so that its CSV files are the
//! same bytes everywhere. The demo cases draw through a float in [0, 1) (`unit`, `between`,
//! `chance`, `unit_below`, `unit_pick`); their history is pinned to those exact draws, so
//! they keep them rather than switch to the integer ones.

/// SplitMix64 (Steele, Lea and Flood): small, fast, and no crate whose sequence could change
/// under us between versions.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    // Integer draws.

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-40 for the ranges used here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn below_usize(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`; `lo` when the range is empty.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub(crate) fn chance_per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below_usize(items.len())]
    }

    /// One of `items`, each as likely as its weight.
    pub(crate) fn pick_weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (item, w) in items {
            if r < *w {
                return item;
            }
            r -= w;
        }
        &items[items.len() - 1].0
    }

    // Float draws.

    /// Uniform in [0, 1), from the top 53 bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub(crate) fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// In `0..n` through [`Rng::unit`] (0 when `n` is 0).
    pub(crate) fn unit_below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    /// One of `items` through [`Rng::unit_below`].
    pub(crate) fn unit_pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.unit_below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_splitmix64() {
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
        let first: Vec<u64> = {
            let mut rng = Rng::new(7);
            (0..3).map(|_| rng.next_u64()).collect()
        };
        let mut again = Rng::new(7);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&rng.unit()));
            assert!((2.0..3.0).contains(&rng.between(2.0, 3.0)));
            assert!(rng.unit_below(7) < 7);
            assert!(rng.below(7) < 7);
            assert!((-3..=3).contains(&rng.range(-3, 3)));
        }
        assert_eq!(rng.range(5, 5), 5);
        assert_eq!(rng.range(5, 4), 5);
        assert_eq!(rng.unit_below(0), 0);
        assert!(!rng.chance_per_mille(0) && rng.chance_per_mille(1000));
        assert_eq!(*rng.pick_weighted(&[("never", 0), ("always", 3)]), "always");
    }
}
