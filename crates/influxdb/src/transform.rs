//! The transformations applied to a column of values in time order: `difference`,
//! `derivative`, `cumulative_sum`, `moving_average` and their non-negative forms.

use shulv_influxql::Function;

/// A transformation and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// The function.
    pub function: Function,
    /// The unit of `derivative` in ms.
    pub unit_ms: i64,
    /// The window of `moving_average`.
    pub window: usize,
}

impl Transform {
    /// True for the functions this module computes.
    pub fn is_transform(f: Function) -> bool {
        use Function::*;
        matches!(
            f,
            Difference
                | NonNegativeDifference
                | Derivative
                | NonNegativeDerivative
                | CumulativeSum
                | MovingAverage
        )
    }

    /// Applies the transformation to `input` (aligned with `times`, ascending). Missing values
    /// are skipped; the output holds a value where the function emits one.
    pub fn apply(&self, times: &[i64], input: &[Option<f64>]) -> Vec<Option<f64>> {
        use Function::*;
        let mut out = vec![None; input.len()];
        let present = input
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)));
        match self.function {
            Difference | NonNegativeDifference | Derivative | NonNegativeDerivative => {
                let mut previous: Option<(usize, f64)> = None;
                for (i, v) in present {
                    if let Some((j, p)) = previous {
                        let d = match self.function {
                            Derivative | NonNegativeDerivative => {
                                let elapsed = (times[i] - times[j]) as f64;
                                (v - p) * self.unit_ms as f64 / elapsed
                            }
                            _ => v - p,
                        };
                        let non_negative =
                            matches!(self.function, NonNegativeDifference | NonNegativeDerivative);
                        if !(non_negative && d < 0.0) {
                            out[i] = Some(d);
                        }
                    }
                    previous = Some((i, v));
                }
            }
            CumulativeSum => {
                let mut total = 0.0;
                for (i, v) in present {
                    total += v;
                    out[i] = Some(total);
                }
            }
            MovingAverage => {
                let window = self.window.max(1);
                let mut recent = std::collections::VecDeque::with_capacity(window);
                let mut total = 0.0;
                for (i, v) in present {
                    recent.push_back(v);
                    total += v;
                    if recent.len() > window {
                        total -= recent.pop_front().unwrap_or(0.0);
                    }
                    if recent.len() == window {
                        out[i] = Some(total / window as f64);
                    }
                }
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        function: Function,
        unit_ms: i64,
        window: usize,
        input: &[Option<f64>],
    ) -> Vec<Option<f64>> {
        let times: Vec<i64> = (0..input.len() as i64).map(|i| i * 60_000).collect();
        Transform {
            function,
            unit_ms,
            window,
        }
        .apply(&times, input)
    }

    #[test]
    fn transformations_skip_missing_values() {
        let input = [Some(1.0), None, Some(4.0), Some(3.0), Some(7.0)];
        assert_eq!(
            run(Function::Difference, 0, 0, &input),
            [None, None, Some(3.0), Some(-1.0), Some(4.0)]
        );
        assert_eq!(
            run(Function::NonNegativeDifference, 0, 0, &input),
            [None, None, Some(3.0), None, Some(4.0)]
        );
        // Per minute: 3 over two minutes is 1.5 a minute.
        assert_eq!(
            run(Function::Derivative, 60_000, 0, &input),
            [None, None, Some(1.5), Some(-1.0), Some(4.0)]
        );
        assert_eq!(
            run(Function::CumulativeSum, 0, 0, &input),
            [Some(1.0), None, Some(5.0), Some(8.0), Some(15.0)]
        );
        assert_eq!(
            run(Function::MovingAverage, 0, 2, &input),
            [None, None, Some(2.5), Some(3.5), Some(5.0)]
        );
    }
}
