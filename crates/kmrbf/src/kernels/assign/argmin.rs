//! The hard row epilogue: nearest center of each row of a distance tile.

use crate::kernels::dispatch::simd_dispatch;
use crate::real::Real;

const LANES: usize = 16;

simd_dispatch! {
    /// For each row `i` of the `b x k` tile `cross` (`-2 <x_i, c_j>`):
    /// `labels[i] = argmin_j (cn[j] + cross[i*k + j])`, the lowest `j` on ties, and
    /// `best[i]` = that minimum, so that the squared distance is `xn[i] + best[i]`.
    pub fn argmin_rows<T: Real>(cross: &[T], k: usize, cn: &[T], labels: &mut [u32], best: &mut [T]) => argmin_rows_body
}

#[inline(always)]
fn argmin_rows_body<T: Real>(cross: &[T], k: usize, cn: &[T], labels: &mut [u32], best: &mut [T]) {
    let full = k / LANES * LANES;
    for ((row, lab), bst) in cross
        .chunks_exact(k)
        .zip(labels.iter_mut())
        .zip(best.iter_mut())
    {
        let mut mv = [T::INFINITY; LANES];
        let mut mi: [u32; LANES] = std::array::from_fn(|l| l as u32);
        let mut base = 0;
        while base < full {
            let r = &row[base..base + LANES];
            let c = &cn[base..base + LANES];
            for l in 0..LANES {
                let v = r[l] + c[l];
                let lt = v < mv[l];
                mv[l] = if lt { v } else { mv[l] };
                mi[l] = if lt { (base + l) as u32 } else { mi[l] };
            }
            base += LANES;
        }
        for j in full..k {
            let l = j - full;
            let v = row[j] + cn[j];
            if v < mv[l] {
                mv[l] = v;
                mi[l] = j as u32;
            }
        }
        let (mut bv, mut bi) = (mv[0], mi[0]);
        for l in 1..LANES {
            if mv[l] < bv || (mv[l] == bv && mi[l] < bi) {
                bv = mv[l];
                bi = mi[l];
            }
        }
        *lab = bi;
        *bst = bv;
    }
}

simd_dispatch! {
    /// For each row `i` of the `b x k` tile `cross`, over `v_j = cn[j] + cross[i*k + j]`:
    /// `labels[i]` = the index of the smallest (the lowest on ties), `first[i]` and `second[i]`
    /// the two smallest values (equal at a tie; `+inf` second when `k == 1`): [`top2`] row by
    /// row, in lanes the compiler vectorizes (min / max / blend, no branch).
    pub fn top2_rows<T: Real>(cross: &[T], k: usize, cn: &[T], labels: &mut [u32], first: &mut [T], second: &mut [T]) => top2_rows_body
}

#[inline(always)]
fn top2_rows_body<T: Real>(
    cross: &[T],
    k: usize,
    cn: &[T],
    labels: &mut [u32],
    first: &mut [T],
    second: &mut [T],
) {
    let full = k / LANES * LANES;
    for (i, row) in cross.chunks_exact(k).enumerate() {
        let mut m1 = [T::INFINITY; LANES];
        let mut m2 = [T::INFINITY; LANES];
        let mut i1: [u32; LANES] = std::array::from_fn(|l| l as u32);
        let mut base = 0;
        while base < full {
            let r = &row[base..base + LANES];
            let c = &cn[base..base + LANES];
            for l in 0..LANES {
                let v = r[l] + c[l];
                // v < m1: (v, m1); m1 <= v < m2: (m1, v); else unchanged. A tie lands in m2.
                m2[l] = m2[l].min_of(m1[l].max_of(v));
                i1[l] = if v < m1[l] { (base + l) as u32 } else { i1[l] };
                m1[l] = m1[l].min_of(v);
            }
            base += LANES;
        }
        for j in full..k {
            let l = j - full;
            let v = row[j] + cn[j];
            m2[l] = m2[l].min_of(m1[l].max_of(v));
            i1[l] = if v < m1[l] { j as u32 } else { i1[l] };
            m1[l] = m1[l].min_of(v);
        }
        // The winner lane; the runner-up is the smallest of the other lanes' minima and the
        // winner lane's second.
        let mut w = 0;
        for l in 1..LANES {
            if m1[l] < m1[w] || (m1[l] == m1[w] && i1[l] < i1[w]) {
                w = l;
            }
        }
        let mut v2 = m2[w];
        for l in 0..LANES {
            if l != w && m1[l] < v2 {
                v2 = m1[l];
            }
        }
        labels[i] = i1[w];
        first[i] = m1[w];
        second[i] = v2;
    }
}

/// Index of the smallest and the two smallest values of `v(j)`, `j` in `0..k` (lowest index on
/// ties; the second value is `+inf` when `k == 1`).
#[inline]
pub fn top2<T: Real>(k: usize, v: impl Fn(usize) -> T) -> (usize, T, T) {
    let (mut b1, mut v1, mut v2) = (0usize, T::INFINITY, T::INFINITY);
    for j in 0..k {
        let x = v(j);
        if x < v1 {
            v2 = v1;
            v1 = x;
            b1 = j;
        } else if x < v2 {
            v2 = x;
        }
    }
    (b1, v1, v2)
}
