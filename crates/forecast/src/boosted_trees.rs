//! A small histogram gradient-boosted regression tree learner (GBDT, 梯度提升树) for the `gbm`
//! forecast model.
//!
//! Squared error with sample weights; each tree is grown level by level to a fixed depth on
//! per-feature bins cut at quantiles of the feature's distinct values (at most
//! [`Params::bins`] per feature; a feature with fewer distinct values gets one bin per value,
//! so a step function of the hour is learnt exactly),
//! with L2-regularised leaf values and a least leaf size. The training sets of the forecast
//! models are small (a few thousand rows, a few dozen features), so a single-threaded learner
//! of this size beats a general library on a shared two-core machine and keeps the dependency
//! list short (see docs/forecasting.md).

/// Settings of the learner.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    /// Number of trees (boosting rounds).
    pub trees: usize,
    /// Depth of each tree (a tree has at most `2^depth` leaves).
    pub depth: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Fewest rows in a leaf.
    pub min_leaf: usize,
    /// L2 penalty on leaf values (in units of the sample weight).
    pub lambda: f64,
    /// Most bins per feature (at most 256).
    pub bins: usize,
}

#[derive(Debug, Clone, Copy)]
enum Node {
    /// Rows with `x[feature] < threshold` go to `left`, the others to `left + 1`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
    },
    Leaf(f64),
}

/// A fitted ensemble of regression trees.
#[derive(Debug, Clone)]
pub(crate) struct Gbdt {
    base: f64,
    trees: Vec<Vec<Node>>,
}

/// Bins of the training matrix, row-major.
struct Binned {
    p: usize,
    /// Histogram slot (`offsets[j]` + bin) of row `i` in feature `j` at `i * p + j`.
    slots: Vec<u32>,
    /// Cut points of feature `j`: bin `b` holds `cuts[b - 1] <= x < cuts[b]`.
    cuts: Vec<Vec<f64>>,
    /// Start of feature `j`'s bins in a node histogram.
    offsets: Vec<usize>,
}

impl Binned {
    fn new(x: &[f64], p: usize, max_bins: usize) -> Binned {
        let n = x.len() / p;
        let mut bins = vec![0u32; n * p];
        let mut cuts = Vec::with_capacity(p);
        let mut col = Vec::with_capacity(n);
        for j in 0..p {
            col.clear();
            col.extend(x.chunks_exact(p).map(|r| r[j]));
            col.sort_by(f64::total_cmp);
            col.dedup();
            let c: Vec<f64> = if col.len() <= max_bins {
                col.iter().skip(1).copied().collect()
            } else {
                let mut c: Vec<f64> = (1..max_bins)
                    .map(|k| col[k * col.len() / max_bins])
                    .collect();
                c.dedup();
                c
            };
            for (i, r) in x.chunks_exact(p).enumerate() {
                bins[i * p + j] = c.partition_point(|&cut| cut <= r[j]) as u32;
            }
            cuts.push(c);
        }
        let offsets: Vec<usize> = cuts
            .iter()
            .scan(0, |acc, c| {
                let o = *acc;
                *acc += c.len() + 1;
                Some(o)
            })
            .collect();
        for r in bins.chunks_exact_mut(p) {
            for (b, &o) in r.iter_mut().zip(&offsets) {
                *b += o as u32;
            }
        }
        Binned {
            p,
            slots: bins,
            cuts,
            offsets,
        }
    }

    /// Length of a node histogram (all bins of all features).
    fn hist_len(&self) -> usize {
        self.cuts.iter().map(|c| c.len() + 1).sum()
    }
}

/// Gradient and hessian sums of one histogram bin (or node).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    count: usize,
}

impl Sums {
    fn score(&self, lambda: f64) -> f64 {
        self.g * self.g / (self.h + lambda)
    }
}

/// Histogram of one node: gradient and hessian sums per bin, features one after another.
fn build_hist(data: &Binned, rows: &[u32], grad: &[f64], hess: &[f64], hist: &mut Vec<Sums>) {
    hist.clear();
    hist.resize(data.hist_len(), Sums::default());
    for &i in rows {
        let i = i as usize;
        let (g, h) = (grad[i], hess[i]);
        for &slot in &data.slots[i * data.p..(i + 1) * data.p] {
            let s = &mut hist[slot as usize];
            s.g += g;
            s.h += h;
            s.count += 1;
        }
    }
}

/// Best split of a node from its histogram: feature, bin (left = bins `<= bin`) and gain.
fn best_split(
    data: &Binned,
    hist: &[Sums],
    total: Sums,
    params: &Params,
) -> Option<(usize, usize, f64)> {
    let mut best: Option<(usize, usize, f64)> = None;
    let parent = total.score(params.lambda);
    for (j, cuts) in data.cuts.iter().enumerate() {
        let bins = &hist[data.offsets[j]..data.offsets[j] + cuts.len() + 1];
        let mut left = Sums::default();
        for (b, s) in bins[..cuts.len()].iter().enumerate() {
            left.g += s.g;
            left.h += s.h;
            left.count += s.count;
            let right = Sums {
                g: total.g - left.g,
                h: total.h - left.h,
                count: total.count - left.count,
            };
            if left.count < params.min_leaf || right.count < params.min_leaf {
                continue;
            }
            let gain = left.score(params.lambda) + right.score(params.lambda) - parent;
            if gain > 1e-12 * parent.abs().max(1e-300) && best.is_none_or(|(_, _, g)| gain > g) {
                best = Some((j, b, gain));
            }
        }
    }
    best
}

/// A node waiting to be split: its index, its rows `order[a..b]` and its histogram.
struct Open {
    id: usize,
    a: usize,
    b: usize,
    hist: Vec<Sums>,
}

impl Gbdt {
    /// Fits `y ≈ f(x)` (`x` row-major with `p` columns, weights `w`), starting from the
    /// weighted mean of `y`.
    pub fn fit(x: &[f64], p: usize, y: &[f64], w: &[f64], params: &Params) -> Gbdt {
        Gbdt::boost(x, p, y, w, params, |_| true)
    }

    /// Fits like [`Gbdt::fit`] while tracking the absolute error on held-out rows (`hx`
    /// row-major, targets `hy`); stops once `patience` trees in a row have not improved it and
    /// keeps the best number of trees, at least `min_trees`.
    #[allow(clippy::too_many_arguments)]
    pub fn fit_early_stopped(
        x: &[f64],
        p: usize,
        y: &[f64],
        w: &[f64],
        params: &Params,
        (hx, hy): (&[f64], &[f64]),
        patience: usize,
        min_trees: usize,
    ) -> Gbdt {
        let mut hpred = vec![weighted_mean(y, w); hy.len()];
        let mut best = (f64::INFINITY, 0);
        let mut count = 0;
        let mut m = Gbdt::boost(x, p, y, w, params, |tree| {
            count += 1;
            let mut err = 0.0;
            for ((v, row), t) in hpred.iter_mut().zip(hx.chunks_exact(p)).zip(hy) {
                *v += tree_value(tree, row);
                err += (t - *v).abs();
            }
            if count <= min_trees || err < best.0 {
                best = (err, count);
            }
            count - best.1 < patience
        });
        m.trees.truncate(best.1);
        m
    }

    /// The boosting loop; `on_tree` sees each new tree and returns false to stop.
    fn boost(
        x: &[f64],
        p: usize,
        y: &[f64],
        w: &[f64],
        params: &Params,
        mut on_tree: impl FnMut(&[Node]) -> bool,
    ) -> Gbdt {
        let n = y.len();
        debug_assert!(p > 0 && x.len() == n * p, "rows of p > 0 features");
        let base = weighted_mean(y, w);
        let data = Binned::new(x, p, params.bins.clamp(2, 256));
        let mut pred = vec![base; n];
        let mut grad = vec![0.0; n];
        let mut trees = Vec::with_capacity(params.trees);
        let mut order: Vec<u32> = (0..n as u32).collect();
        for _ in 0..params.trees {
            for i in 0..n {
                grad[i] = w[i] * (y[i] - pred[i]);
            }
            let mut nodes = vec![Node::Leaf(0.0)];
            let mut root = Vec::new();
            if params.depth > 0 {
                build_hist(&data, &order, &grad, w, &mut root);
            }
            let mut level = vec![Open {
                id: 0,
                a: 0,
                b: n,
                hist: root,
            }];
            // Level by level; a child's histogram is its parent's minus its sibling's.
            for depth in 0..=params.depth {
                let mut next = Vec::new();
                for Open { id, a, b, mut hist } in level {
                    let rows = &mut order[a..b];
                    let total = rows.iter().fold(Sums::default(), |s, &i| Sums {
                        g: s.g + grad[i as usize],
                        h: s.h + w[i as usize],
                        count: s.count + 1,
                    });
                    let split = (depth < params.depth && rows.len() >= 2 * params.min_leaf)
                        .then(|| best_split(&data, &hist, total, params))
                        .flatten();
                    let Some((j, bin, _)) = split else {
                        let denom = total.h + params.lambda;
                        let value = if denom > 0.0 {
                            params.learning_rate * total.g / denom
                        } else {
                            0.0
                        };
                        nodes[id] = Node::Leaf(value);
                        for &i in rows.iter() {
                            pred[i as usize] += value;
                        }
                        continue;
                    };
                    // Partition the node's rows: left (bin <= split bin) first.
                    let last_left = (data.offsets[j] + bin) as u32;
                    let mut m = 0;
                    for k in 0..rows.len() {
                        if data.slots[rows[k] as usize * p + j] <= last_left {
                            rows.swap(m, k);
                            m += 1;
                        }
                    }
                    let left = nodes.len();
                    nodes.push(Node::Leaf(0.0));
                    nodes.push(Node::Leaf(0.0));
                    nodes[id] = Node::Split {
                        feature: j,
                        threshold: data.cuts[j][bin],
                        left,
                    };
                    let (mut lh, mut rh) = (Vec::new(), Vec::new());
                    if depth + 1 < params.depth {
                        // Only the children that may split need histograms.
                        let small_left = m <= rows.len() - m;
                        let small = if small_left { &rows[..m] } else { &rows[m..] };
                        let mut sh = Vec::new();
                        build_hist(&data, small, &grad, w, &mut sh);
                        for (p, s) in hist.iter_mut().zip(&sh) {
                            p.g -= s.g;
                            p.h -= s.h;
                            p.count -= s.count;
                        }
                        (lh, rh) = if small_left { (sh, hist) } else { (hist, sh) };
                    }
                    next.push(Open {
                        id: left,
                        a,
                        b: a + m,
                        hist: lh,
                    });
                    next.push(Open {
                        id: left + 1,
                        a: a + m,
                        b,
                        hist: rh,
                    });
                }
                level = next;
            }
            let go_on = on_tree(&nodes);
            trees.push(nodes);
            if !go_on {
                break;
            }
        }
        Gbdt { base, trees }
    }

    /// Number of trees.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// Prediction for one row.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.base + self.trees.iter().map(|t| tree_value(t, row)).sum::<f64>()
    }
}

/// Weighted mean of `y` (0 without weight).
fn weighted_mean(y: &[f64], w: &[f64]) -> f64 {
    let sw: f64 = w.iter().sum();
    if sw > 0.0 {
        y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw
    } else {
        0.0
    }
}

fn tree_value(nodes: &[Node], row: &[f64]) -> f64 {
    let mut id = 0;
    loop {
        match nodes[id] {
            Node::Leaf(v) => return v,
            Node::Split {
                feature,
                threshold,
                left,
            } => {
                id = if row[feature] < threshold {
                    left
                } else {
                    left + 1
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: Params = Params {
        trees: 200,
        depth: 3,
        learning_rate: 0.3,
        min_leaf: 1,
        lambda: 0.0,
        bins: 32,
    };

    #[test]
    fn learns_a_step_function_of_the_hour_exactly() {
        // y depends only on the hour: 10 at night, 50 by day, 30 in the evening.
        let step = |h: usize| match h {
            0..=6 => 10.0,
            7..=17 => 50.0,
            _ => 30.0,
        };
        let x: Vec<f64> = (0..24 * 20).map(|i| (i % 24) as f64).collect();
        let y: Vec<f64> = (0..24 * 20).map(|i| step(i % 24)).collect();
        let m = Gbdt::fit(&x, 1, &y, &vec![1.0; y.len()], &PARAMS);
        for h in 0..24 {
            let v = m.predict(&[h as f64]);
            assert!((v - step(h)).abs() < 1e-6, "hour {h}: {v}");
        }
    }

    #[test]
    fn picks_the_informative_feature_and_an_interaction() {
        // Column 0 is noise, y = 5 if (x1 >= 3 and x2 == 1) else 0.
        let rows: Vec<[f64; 3]> = (0..400)
            .map(|i| {
                [
                    ((i * 7919) % 101) as f64,
                    (i % 6) as f64,
                    ((i / 6) % 2) as f64,
                ]
            })
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| if r[1] >= 3.0 && r[2] == 1.0 { 5.0 } else { 0.0 })
            .collect();
        let x: Vec<f64> = rows.iter().flatten().copied().collect();
        let m = Gbdt::fit(&x, 3, &y, &vec![1.0; 400], &PARAMS);
        assert!((m.predict(&[50.0, 4.0, 1.0]) - 5.0).abs() < 1e-6);
        assert!(m.predict(&[50.0, 4.0, 0.0]).abs() < 1e-6);
        assert!(m.predict(&[50.0, 1.0, 1.0]).abs() < 1e-6);
    }

    #[test]
    fn early_stopping_keeps_the_trees_that_help_the_holdout() {
        let x: Vec<f64> = (0..240).map(|i| (i % 24) as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&h| if h < 12.0 { 0.0 } else { 10.0 })
            .collect();
        let w = vec![1.0; 240];
        // A holdout like the training data: boosting goes on and fits it.
        let hx = [3.0, 15.0];
        let m = Gbdt::fit_early_stopped(&x, 1, &y, &w, &PARAMS, (&hx, &[0.0, 10.0]), 10, 3);
        assert!(m.trees.len() > 20, "{}", m.trees.len());
        assert!((m.predict(&[15.0]) - 10.0).abs() < 1e-6);
        // A holdout at the mean: every tree makes it worse, so the fewest trees are kept.
        let m = Gbdt::fit_early_stopped(&x, 1, &y, &w, &PARAMS, (&hx, &[5.0, 5.0]), 10, 3);
        assert_eq!(m.trees.len(), 3);
    }

    #[test]
    fn constant_or_tiny_data_gives_the_mean_and_no_nan() {
        let m = Gbdt::fit(&[1.0, 1.0, 1.0], 1, &[-2.0, -2.0, -2.0], &[1.0; 3], &PARAMS);
        assert_eq!(m.predict(&[1.0]), -2.0);
        let m = Gbdt::fit(&[], 1, &[], &[], &PARAMS);
        assert_eq!(m.predict(&[0.0]), 0.0);
        let params = Params {
            min_leaf: 5,
            lambda: 1.0,
            ..PARAMS
        };
        let m = Gbdt::fit(&[0.0, 1.0, 2.0], 1, &[0.0, 0.0, 9.0], &[1.0; 3], &params);
        assert!(m.predict(&[2.0]).is_finite());
    }
}
