//! Hostile and broken input files: `.npy` headers parsed as strictly as numpy's reader, sizes
//! that would overflow, and interrupted commands that must leave no temporary behind.

mod common;

use common::*;
use kmrbf_cli::npy::{read_matrix_from, read_vector_from};
use std::io::Cursor;
use std::time::{Duration, Instant};

/// A `.npy` of `version` whose header is the literal `dict` (padded like numpy's writer),
/// followed by `data`.
fn npy(version: (u8, u8), dict: &str, data: &[u8]) -> Vec<u8> {
    let len_field = if version.0 == 1 { 2 } else { 4 };
    let mut h = dict.to_string();
    while !(8 + len_field + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version.0, version.1]);
    if len_field == 2 {
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f8(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn load(bytes: &[u8]) -> Result<(Vec<f64>, usize, usize), String> {
    read_matrix_from(&mut Cursor::new(bytes), bytes.len() as u64, "t.npy")
        .map(|m| (m.to_f64(), m.n, m.d))
        .map_err(|e| {
            assert_eq!(e.code, 2, "{}", e.msg);
            assert!(e.msg.starts_with("t.npy: "), "names the file: {}", e.msg);
            e.msg
        })
}

const GOOD: &str = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";

#[test]
fn valid_headers_of_every_version_and_spelling_load() {
    let data = f8(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let want = (
        data.chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        2,
        3,
    );
    for v in [(1, 0), (2, 0), (3, 0)] {
        assert_eq!(load(&npy(v, GOOD, &data)).unwrap(), want, "version {v:?}");
    }
    for dict in [
        // Key order, double quotes, no trailing comma, long-integer suffix (Python 2),
        // whitespace: numpy reads all of them.
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2L, 3L)}",
        "{ 'descr' : '<f8' ,\n 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
    ] {
        assert_eq!(load(&npy((1, 0), dict, &data)).unwrap(), want, "{dict}");
    }
    // Fortran order and big-endian data.
    let fortran = npy(
        (1, 0),
        "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }",
        &[1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>(),
    );
    assert_eq!(load(&fortran).unwrap(), want);
    // Trailing bytes after the data are ignored, as numpy does.
    let mut extra = npy((1, 0), GOOD, &data);
    extra.extend_from_slice(b"trailing");
    assert_eq!(load(&extra).unwrap(), want);
    // A 1-D vector.
    let v = npy(
        (1, 0),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        &f8(&[1.0, 2.0, 3.0]),
    );
    assert_eq!(
        read_vector_from(&mut Cursor::new(&v), v.len() as u64, "w.npy").unwrap(),
        vec![1.0, 2.0, 3.0]
    );
}

#[test]
fn headers_numpy_rejects_are_rejected_with_the_reason() {
    let data = f8(&[0.0; 6]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': __import__('os')}", &data),
            "'__import__' is not a literal",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", &data),
            "unexpected key 'x'",
        ),
        (npy((1, 0), "{'descr': '<f8', 'shape': (2, 3)}", &data), "lacks the key 'fortran_order'"),
        (
            npy((1, 0), "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", &data),
            "appears twice",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}", &data),
            "fortran_order must be True or False",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}", &data),
            "shape must be a tuple",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0, 3)}", &data),
            "non-integer",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 3)}", &data),
            "shape dimension 0 is -2",
        ),
        (
            npy((1, 0), "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 3)}", &data),
            "unsupported dtype a list",
        ),
        (
            npy((1, 0), "{'descr': '<U8', 'fortran_order': False, 'shape': (2, 3)}", &data),
            "unsupported dtype '<U8'",
        ),
        (npy((1, 0), "['descr', '<f8']", &data), "not a dict but a list"),
        (npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} x", &data), "after the header's dict"),
        (npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)", &data), "expected ',' or '}'"),
        (npy((1, 0), "{'descr' '<f8', 'fortran_order': False}", &data), "expected ':'"),
        (npy((1, 0), "{'descr': '<f8, 'fortran_order': False}", &data), "found 'f'"),
        (npy((4, 0), GOOD, &data), "unsupported .npy format version 4.0"),
        (npy((1, 1), GOOD, &data), "unsupported .npy format version 1.1"),
        (
            npy((1, 0), &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), {}}}", " ".repeat(10_000)), &data),
            "longer than numpy's limit of 10000",
        ),
        (
            npy((1, 0), &format!("{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (2, 3)}}", "(".repeat(40), ")".repeat(40)), &data),
            "nested deeper",
        ),
        (
            npy((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 999999999999999999999999999999999999999999)}", &data),
            "too large",
        ),
        (npy((1, 0), GOOD, &data[..40]), "truncated: shape [2, 3] of 8-byte elements needs 48 data bytes, the file has 40"),
        (b"\x93NUMPY\x01\x00\xff\xff{".to_vec(), "longer than numpy's limit"),
        (b"\x93NUMPY\x01\x00\x40\x00{'descr'".to_vec(), "truncated .npy header"),
        (b"\x93NUMPX\x01\x00\x40\x00{'descr'".to_vec(), "bad magic"),
        (b"\x93NUMPY".to_vec(), "not a .npy file"),
    ];
    for (bytes, needle) in cases {
        let msg = load(&bytes).expect_err(needle);
        assert!(msg.contains(needle), "want '{needle}' in: {msg}");
    }
    // Version 3.0 headers are UTF-8; 1.0 and 2.0 are latin-1 (a byte >= 0x80 is one char).
    let mut bad_utf8 = npy((3, 0), GOOD, &data);
    bad_utf8[12] = 0xff;
    assert!(load(&bad_utf8).unwrap_err().contains("not UTF-8"));
}

#[test]
fn shapes_whose_sizes_overflow_are_refused_before_any_allocation() {
    for (shape, needle) in [
        // n * d wraps to 0 in 64-bit arithmetic.
        (
            "(4611686018427387904, 4)",
            "more elements than this machine can address",
        ),
        // n * d fits, n * d * 8 does not.
        (
            "(2305843009213693952, 2)",
            "more bytes than this machine can address",
        ),
        (
            "(18446744073709551615, 18446744073709551615)",
            "more elements",
        ),
        ("(18446744073709551616, 1)", "outside 0 ..="),
        // Fits, but the file is far too short: refused before allocating 8 TiB.
        ("(1099511627776, 1)", "truncated"),
        ("(0, 3)", ""),
    ] {
        let bytes = npy(
            (1, 0),
            &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"),
            &f8(&[1.0; 4]),
        );
        match load(&bytes) {
            Err(msg) => assert!(!needle.is_empty() && msg.contains(needle), "{shape}: {msg}"),
            Ok((v, n, d)) => assert!(needle.is_empty() && v.is_empty() && n == 0 && d == 3),
        }
    }
    // End to end: the binary exits 2 with the message (it used to panic with exit 1).
    let dir = Dir::new("files-overflow");
    let bytes = npy(
        (1, 0),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
        &f8(&[1.0; 8]),
    );
    std::fs::write(dir.path("big.npy"), bytes).unwrap();
    let r = run(&[
        "fit",
        "--data",
        &dir.s("big.npy"),
        "--k",
        "2",
        "--out",
        &dir.s("m.json"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("big.npy") && r.stderr.contains("more elements"),
        "{}",
        r.stderr
    );
    assert_eq!(dir.files(), vec!["big.npy".to_string()]);
}

/// A process id that is not running (for a stale temporary).
fn dead_pid() -> u32 {
    (4_000_000u32..)
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .unwrap()
}

/// Starts `args`, waits until `ready` holds (or 20 s), sends `signal`, and returns the exit
/// status and stderr.
fn interrupt(args: &[&str], ready: &dyn Fn() -> bool, signal: &str) -> (Option<i32>, String) {
    let child = bin()
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !ready() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ready(), "{args:?}: never became ready");
    let st = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn interrupted_commands_remove_their_temporaries() {
    let dir = Dir::new("files-interrupt");
    // reproduce: Ctrl-C (SIGINT) while the partial directory exists.
    let report = dir.s("report");
    let partial_exists = || {
        dir.files()
            .iter()
            .any(|f| f.starts_with(".report.partial-"))
    };
    let (code, err) = interrupt(
        &["reproduce", "--quick", "--seeds", "2", "--out", &report],
        &partial_exists,
        "-INT",
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(dir.files().is_empty(), "left behind: {:?}", dir.files());
    // fit: SIGTERM while its outputs' temporaries exist (a fit long enough to be caught).
    let ds = kmrbf::synth::blobs(200_000, 16, 64, 4.0, 3);
    let x32: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x.npy"), &x32, "(200000, 16)");
    let tmp_exists = || dir.files().iter().any(|f| f.contains(".kmrbf-"));
    let (code, err) = interrupt(
        &[
            "fit",
            "--data",
            &dir.s("x.npy"),
            "--k",
            "512",
            "--init",
            "random",
            "--n-init",
            "50",
            "--tol",
            "0",
            "--out",
            &dir.s("m.json"),
            "--labels",
            &dir.s("l.npy"),
            "--threads",
            "1",
        ],
        &tmp_exists,
        "-TERM",
    );
    assert_eq!(code, Some(143), "{err}");
    assert_eq!(dir.files(), vec!["x.npy".to_string()]);
}

#[test]
fn a_new_run_removes_what_a_killed_run_left() {
    let dir = Dir::new("files-stale");
    let pid = dead_pid();
    std::fs::create_dir(dir.path(&format!(".report.partial-{pid}"))).unwrap();
    std::fs::write(dir.path(&format!(".report.partial-{pid}/fig.png")), "x").unwrap();
    std::fs::write(dir.path(&format!(".m.json.kmrbf-{pid}.tmp")), "x").unwrap();
    // Another (running) process's temporaries are left alone: this test process is alive.
    let alive = std::process::id();
    std::fs::write(dir.path(&format!(".m.json.kmrbf-{alive}.tmp")), "x").unwrap();
    ok(&[
        "fit",
        "--data",
        "builtin:iris",
        "--k",
        "3",
        "--out",
        &dir.s("m.json"),
        "--quiet",
    ]);
    ok(&[
        "reproduce",
        "--quick",
        "--seeds",
        "1",
        "--out",
        &dir.s("report"),
        "--quiet",
    ]);
    assert_eq!(
        dir.files(),
        vec![
            format!(".m.json.kmrbf-{alive}.tmp"),
            "m.json".into(),
            "report".into()
        ]
    );
}
