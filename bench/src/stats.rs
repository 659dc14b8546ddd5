//! Timing samples and their summary: median, minimum and maximum, in milliseconds; the
//! `name: value` output lines.

use std::time::{Duration, Instant};

use crate::interrupt;

/// Prints one figure.
pub fn report(name: &str, value: impl std::fmt::Display) {
    println!("{name}: {value}");
}

/// The other engine's median divided by ours: above 1.0x, ours is faster.
pub fn ratio(theirs: &Summary, ours: &Summary) -> String {
    ratio_of(theirs.median.as_secs_f64(), ours.median.as_secs_f64())
}

/// `theirs / ours` as `2.5x`.
pub fn ratio_of(theirs: f64, ours: f64) -> String {
    format!("{:.1}x", theirs / ours.max(1e-9))
}

/// The summary of one measured operation.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn from_samples(mut samples: Vec<Duration>) -> Summary {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        let n = samples.len();
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2
        };
        Summary {
            n,
            median,
            min: samples[0],
            max: samples[n - 1],
        }
    }

    /// `0.084 (0.061-0.412) ms, n=2000`
    pub fn line(&self) -> String {
        format!(
            "{} ({}-{}) ms, n={}",
            ms(self.median),
            ms(self.min),
            ms(self.max),
            self.n
        )
    }
}

/// Milliseconds with three significant decimals for small values.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// Runs `op` `n` times; each call times its own measured part and returns it, so set-up
/// and clean-up around it (such as `rmi` between loads) stay out of the figure.
pub fn measure_parts(
    n: usize,
    mut op: impl FnMut(usize) -> Result<Duration, String>,
) -> Result<Summary, String> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        interrupt::check()?;
        samples.push(op(i)?);
    }
    Ok(Summary::from_samples(samples))
}

/// Runs `op` `warmup` times unmeasured, then `n` times measured.
pub fn measure(
    n: usize,
    warmup: usize,
    mut op: impl FnMut() -> Result<(), String>,
) -> Result<Summary, String> {
    for _ in 0..warmup {
        interrupt::check()?;
        op()?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        interrupt::check()?;
        let start = Instant::now();
        op()?;
        samples.push(start.elapsed());
    }
    Ok(Summary::from_samples(samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        let d = Duration::from_millis;
        let s = Summary::from_samples(vec![d(5), d(1), d(3)]);
        assert_eq!((s.median, s.min, s.max, s.n), (d(3), d(1), d(5), 3));
        let s = Summary::from_samples(vec![d(4), d(1), d(2), d(3)]);
        assert_eq!(s.median, Duration::from_micros(2500));
    }
}
