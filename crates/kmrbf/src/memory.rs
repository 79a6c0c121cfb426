//! Large buffers backed by transparent huge pages where the OS offers them.
//!
//! The fused passes stream the data once per step; on this kind of virtual machine a 4 KiB
//! page costs a two-level (guest and host) page walk every 32 rows of a 1M x 32 f32 matrix.
//! With 2 MiB pages a plain AVX-512 read of 128 MB went 10.5 -> 8.3 ns per 128 bytes, and the
//! k-means++ distance block over it 13.5 -> 9.5 ns per row (C microbenchmarks, one thread;
//! docs/NOTES.md, "Code shape and page walks cost the pass a third"). Nothing else changes: the same values, the same bits.

/// Buffers at least this large (bytes) ask for huge pages.
const HUGE_MIN_BYTES: usize = 4 << 20;

/// An empty `Vec` with room for `count` values whose not-yet-touched pages are advised to be
/// backed by transparent huge pages (Linux `madvise(MADV_HUGEPAGE)`, only for buffers of
/// 4 MiB and more; elsewhere, or when the advice is refused, a plain `Vec::with_capacity`).
/// The system's switch, `/sys/kernel/mm/transparent_hugepage/enabled = never`, turns it off.
/// Fill it with `push` / `extend` after this call: the advice applies to pages first touched
/// afterwards.
pub fn vec_with_capacity<V>(count: usize) -> Vec<V> {
    let v: Vec<V> = Vec::with_capacity(count);
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<V>());
    if bytes >= HUGE_MIN_BYTES {
        advise_huge(v.as_ptr() as usize, bytes);
    }
    v
}

/// A `Vec` of `count` copies of `value` on huge pages where offered (see [`vec_with_capacity`]).
pub fn vec_filled<V: Clone>(count: usize, value: V) -> Vec<V> {
    let mut v = vec_with_capacity(count);
    v.resize(count, value);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(addr: usize, bytes: usize) {
    const HUGE: usize = 2 << 20;
    // Only whole 2 MiB pages inside the allocation.
    let start = addr.next_multiple_of(HUGE);
    let end = (addr + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies inside an allocation this process owns; MADV_HUGEPAGE only
        // changes how its pages are backed, never their contents. A failure (kernel without
        // THP, advice disabled) leaves ordinary pages, which is correct too.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_addr: usize, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_hold_what_is_put_in_them() {
        let n = (8 << 20) / 4 + 3;
        let mut v: Vec<f32> = vec_with_capacity(n);
        assert!(v.capacity() >= n);
        v.extend((0..n).map(|i| i as f32));
        assert_eq!(v.len(), n);
        assert_eq!(v[n - 1], (n - 1) as f32);
        let z = vec_filled(n, 1.5f64);
        assert!(z.len() == n && z.iter().all(|&x| x == 1.5));
        let small: Vec<u8> = vec_with_capacity(10);
        assert!(small.is_empty() && small.capacity() >= 10);
    }
}
