//! Small dense linear algebra for ridge regression: the eigendecomposition of a symmetric
//! matrix by cyclic Jacobi rotations.
//!
//! The systems are tiny (a few dozen unknowns), so a hand-written solver is fast and keeps the
//! dependency list short. The eigendecomposition lets the ridge try every penalty, with its
//! exact leave-one-out errors, at O(n·p) each instead of a new factorisation and a triangular
//! solve per sample.

/// Eigenvalues and eigenvectors of a symmetric `p × p` matrix (row-major): returns
/// `(values, vectors)` with `A = V diag(values) Vᵀ`, eigenvector `k` in column `k` of `vectors`
/// (row-major). Only the matrix's symmetric part is read.
pub(crate) fn symmetric_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    let scale: f64 = (0..p).map(|i| a[i * p + i] * a[i * p + i]).sum::<f64>();
    for _sweep in 0..60 {
        let off: f64 = (0..p)
            .flat_map(|i| (i + 1..p).map(move |j| (i, j)))
            .map(|(i, j)| a[i * p + j] * a[i * p + j])
            .sum();
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for r in 0..p {
            for q in r + 1..p {
                let arq = a[r * p + q];
                if arq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[r][q] (Numerical Recipes, §11.1).
                let theta = (a[q * p + q] - a[r * p + r]) / (2.0 * arq);
                let t = if theta >= 0.0 { 1.0 } else { -1.0 }
                    / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (akr, akq) = (a[k * p + r], a[k * p + q]);
                    a[k * p + r] = c * akr - s * akq;
                    a[k * p + q] = s * akr + c * akq;
                }
                for k in 0..p {
                    let (ark, aqk) = (a[r * p + k], a[q * p + k]);
                    a[r * p + k] = c * ark - s * aqk;
                    a[q * p + k] = s * ark + c * aqk;
                }
                for k in 0..p {
                    let (vkr, vkq) = (v[k * p + r], v[k * p + q]);
                    v[k * p + r] = c * vkr - s * vkq;
                    v[k * p + q] = s * vkr + c * vkq;
                }
            }
        }
    }
    ((0..p).map(|i| a[i * p + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigendecomposition_reconstructs_the_matrix() {
        // A known case: [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (mut w, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        w.sort_by(f64::total_cmp);
        assert!(
            (w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12,
            "{w:?}"
        );
        // A scattered 6 × 6 Gram matrix (positive semi-definite, one zero column).
        let p = 6;
        let x: Vec<f64> = (0..40 * p)
            .map(|i| {
                if i % p == 4 {
                    0.0
                } else {
                    ((i * 7919) % 23) as f64 - 11.0
                }
            })
            .collect();
        let mut g = vec![0.0; p * p];
        for r in x.chunks_exact(p) {
            for i in 0..p {
                for j in 0..p {
                    g[i * p + j] += r[i] * r[j];
                }
            }
        }
        let (w, v) = symmetric_eigen(&g, p);
        for i in 0..p {
            for j in 0..p {
                let back: f64 = (0..p).map(|k| v[i * p + k] * w[k] * v[j * p + k]).sum();
                assert!((back - g[i * p + j]).abs() < 1e-9 * g[0], "({i}, {j})");
                let dot: f64 = (0..p).map(|k| v[k * p + i] * v[k * p + j]).sum();
                assert!(
                    (dot - f64::from(u8::from(i == j))).abs() < 1e-12,
                    "VᵀV ({i}, {j})"
                );
            }
        }
        assert!(w.iter().all(|&l| l > -1e-9 * g[0]), "{w:?}");
    }
}
