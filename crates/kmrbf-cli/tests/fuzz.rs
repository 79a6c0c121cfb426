//! Property-based fuzzing of every file reader on stable Rust: valid `.npy`, CSV and model
//! files, mutated (bit flips, byte edits, insertions, deletions, truncations, numbers in the
//! text replaced by huge, negative or non-finite ones), never make a reader panic, always
//! give an error that names the file, and never allocate more than a small multiple of the
//! file's length (a counting allocator measures each call's peak).
//!
//! `KMRBF_FUZZ_CASES` sets the cases per reader (default 1000, which CI runs).

use kmrbf_cli::csvfile;
use kmrbf_cli::model_file::ModelFile;
use kmrbf_cli::npy;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

/// Counts this thread's live heap bytes and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grow(by: usize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get().saturating_add(by);
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

fn shrink(by: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(by)));
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: the caller's layout is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size);
        shrink(layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result and the peak of live bytes it added on this thread.
fn measured<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    let r = f();
    (r, PEAK.with(|p| p.get()) - base)
}

/// What a reader may allocate for a file of `len` bytes: decoding widens (4-byte ints to
/// 8-byte floats, one text byte to one 8-byte value, header bytes to 4-byte chars), Fortran
/// order copies once, and a reader keeps small fixed buffers.
fn allowance(len: usize) -> usize {
    32 * len + (256 << 10)
}

fn cases() -> u32 {
    std::env::var("KMRBF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    /// Replaces the `nth` run of digits with one of the hostile numbers.
    Number(usize, usize),
}

const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "4611686018427387904",
    "2305843009213693952",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "1e999",
    "-1e999",
    "nan",
    "inf",
    "1.5",
    "",
];

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = b.len();
        match m {
            Mutation::FlipBit(p, bit) if len > 0 => b[p % len] ^= 1 << (bit % 8),
            Mutation::SetByte(p, v) if len > 0 => b[p % len] = *v,
            Mutation::Insert(p, bytes) => {
                let at = p % (len + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(p, n) if len > 0 => {
                let at = p % len;
                let end = (at + n % 16).min(len);
                b.drain(at..end);
            }
            Mutation::Truncate(p) => b.truncate(p % (len + 1)),
            Mutation::Number(nth, which) => {
                let mut runs = Vec::new();
                let mut i = 0;
                while i < len {
                    if b[i].is_ascii_digit() {
                        let s = i;
                        while i < len && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        runs.push((s, i));
                    } else {
                        i += 1;
                    }
                }
                if !runs.is_empty() {
                    let (s, e) = runs[nth % runs.len()];
                    b.splice(s..e, HOSTILE[which % HOSTILE.len()].bytes());
                    // A version-1.0 header's length field no longer matches: fix it half the
                    // time so the parser, not only the length check, sees the edit.
                    if nth % 2 == 0 && b.len() >= 10 && b.starts_with(b"\x93NUMPY\x01\x00") {
                        let hl = b.len().saturating_sub(10).min(u16::MAX as usize);
                        let data_start = b.iter().position(|&c| c == b'\n').map_or(hl, |p| p - 9);
                        let v = (data_start as u16).to_le_bytes();
                        b[8] = v[0];
                        b[9] = v[1];
                    }
                }
            }
            _ => {}
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(n, w)| Mutation::Number(n, w)),
        (any::<usize>(), any::<usize>()).prop_map(|(n, w)| Mutation::Number(n, w)),
    ]
}

/// A valid `.npy`: version, dtype, order, 1-D or 2-D shape, random data.
fn valid_npy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![1u8, 2, 3]),
        prop::sample::select(vec!["<f4", "<f8", "<i4", "<i8", ">f8", ">i4"]),
        any::<bool>(),
        any::<bool>(),
        0usize..6,
        0usize..5,
        any::<u64>(),
    )
        .prop_map(|(ver, descr, fortran, two_d, n, d, seed)| {
            let shape = if two_d {
                format!("({n}, {d})")
            } else {
                format!("({n},)")
            };
            let count = if two_d { n * d } else { n };
            let size = if descr.ends_with('4') { 4 } else { 8 };
            let mut h = format!(
                "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
                if fortran { "True" } else { "False" }
            );
            let lf = if ver == 1 { 2 } else { 4 };
            while !(8 + lf + h.len() + 1).is_multiple_of(64) {
                h.push(' ');
            }
            h.push('\n');
            let mut out = b"\x93NUMPY".to_vec();
            out.extend_from_slice(&[ver, 0]);
            if lf == 2 {
                out.extend_from_slice(&(h.len() as u16).to_le_bytes());
            } else {
                out.extend_from_slice(&(h.len() as u32).to_le_bytes());
            }
            out.extend_from_slice(h.as_bytes());
            let mut s = seed;
            for _ in 0..count * size {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                out.push((s >> 56) as u8);
            }
            out
        })
}

fn valid_csv() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        1usize..5,
        prop::collection::vec(-1e6f64..1e6, 0..24),
    )
        .prop_map(|(header, d, values)| {
            let mut s = String::new();
            if header {
                s.push_str(
                    &(0..d)
                        .map(|j| format!("c{j}"))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                s.push('\n');
            }
            for row in values.chunks(d) {
                s.push_str(
                    &row.iter()
                        .map(|v| format!("{v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                s.push('\n');
            }
            s.into_bytes()
        })
}

fn valid_model() -> impl Strategy<Value = Vec<u8>> {
    (
        1usize..4,
        1usize..4,
        prop::collection::vec(-1e3f64..1e3, 16),
    )
        .prop_map(|(k, d, v)| {
            let m = ModelFile {
                format: "kmrbf-model".into(),
                version: "0.1.0".into(),
                k,
                d,
                dtype: "f64".into(),
                centers: (0..k).map(|i| v[i * d..(i + 1) * d].to_vec()).collect(),
                inertia: 1.0,
                n_iter: 3,
                settings: serde_json::json!({"command": "fit", "seed": 0}),
            };
            m.to_bytes()
        })
}

/// Checks one reader's outcome on `bytes`: an error names `name`, and the peak allocation
/// stays within the allowance.
fn check<T>(
    name: &str,
    bytes: &[u8],
    r: Result<T, kmrbf_cli::fail::CliError>,
    peak: usize,
) -> Result<(), TestCaseError> {
    if let Err(e) = &r {
        prop_assert_eq!(e.code, 2, "{}", e.msg);
        prop_assert!(
            e.msg.contains(name),
            "error does not name the file: {}",
            e.msg
        );
    }
    prop_assert!(
        peak <= allowance(bytes.len()),
        "allocated {} bytes for a file of {} bytes",
        peak,
        bytes.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn npy_readers_survive_mutations(
        file in valid_npy(),
        muts in prop::collection::vec(mutation(), 0..5),
    ) {
        let b = apply(file, &muts);
        let (r, peak) = measured(|| npy::read_matrix_from(&mut Cursor::new(&b), b.len() as u64, "fuzz.npy"));
        check("fuzz.npy", &b, r, peak)?;
        let (r, peak) = measured(|| npy::read_vector_from(&mut Cursor::new(&b), b.len() as u64, "fuzz.npy"));
        check("fuzz.npy", &b, r, peak)?;
    }

    #[test]
    fn csv_reader_survives_mutations(
        file in valid_csv(),
        muts in prop::collection::vec(mutation(), 0..5),
    ) {
        let b = apply(file, &muts);
        let (r, peak) = measured(|| csvfile::read_matrix_from(b.as_slice(), "fuzz.csv"));
        check("fuzz.csv", &b, r, peak)?;
    }

    #[test]
    fn model_reader_survives_mutations(
        file in valid_model(),
        muts in prop::collection::vec(mutation(), 0..5),
    ) {
        let b = apply(file, &muts);
        let (r, peak) = measured(|| ModelFile::parse(&b, "fuzz.json"));
        check("fuzz.json", &b, r, peak)?;
    }
}

#[test]
fn unmutated_files_load() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..50 {
        let b = valid_npy().new_tree(&mut runner).unwrap().current();
        let m = npy::read_matrix_from(&mut Cursor::new(&b), b.len() as u64, "ok.npy");
        let v = npy::read_vector_from(&mut Cursor::new(&b), b.len() as u64, "ok.npy");
        assert!(m.is_ok() != v.is_ok(), "a valid file is either 1-D or 2-D");
        let c = valid_csv().new_tree(&mut runner).unwrap().current();
        let r = csvfile::read_matrix_from(c.as_slice(), "ok.csv");
        let empty = !c.iter().any(|b| b.is_ascii_digit() || *b == b'-') || r.is_err();
        assert!(r.is_ok() || empty, "{}", String::from_utf8_lossy(&c));
        let j = valid_model().new_tree(&mut runner).unwrap().current();
        ModelFile::parse(&j, "ok.json").unwrap();
    }
}
