//! Helpers shared by the CLI test files: running the binary, scratch directories, `.npy`
//! files written and read by hand (independently of the reader under test).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmrbf"))
}

pub struct Run {
    pub code: i32,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    let out = bin().args(args).output().expect("run kmrbf");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and asserts exit 0.
pub fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r
}

pub fn npy_header(descr: &str, shape: &str, fortran: bool) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

pub fn write_npy_f64(path: &Path, values: &[f64], shape: &str, fortran: bool) {
    let mut b = npy_header("<f8", shape, fortran);
    for v in values {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

pub fn write_npy_f32(path: &Path, values: &[f32], shape: &str) {
    let mut b = npy_header("<f4", shape, false);
    for v in values {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

pub fn write_npy_i64(path: &Path, values: &[i64], shape: &str) {
    let mut b = npy_header("<i8", shape, false);
    for v in values {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

pub fn write_npy_i32(path: &Path, values: &[i32], shape: &str) {
    let mut b = npy_header("<i4", shape, false);
    for v in values {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

/// The values (as f64) and header of a version-1.0 `.npy` of `<f4`, `<f8` or `<i8`.
pub fn read_npy(path: &Path) -> (Vec<f64>, String) {
    let b = std::fs::read(path).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap().to_string();
    let body = &b[10 + hlen..];
    let v = if header.contains("'<f4'") {
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect()
    } else if header.contains("'<i8'") {
        body.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect()
    } else {
        assert!(header.contains("'<f8'"), "{header}");
        body.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    (v, header)
}

pub fn read_npy_f64(path: &Path) -> (Vec<f64>, String) {
    read_npy(path)
}

pub fn read_labels(path: &Path) -> Vec<i64> {
    let (v, header) = read_npy(path);
    assert!(
        header.contains("'descr': '<i8'"),
        "labels are int64: {header}"
    );
    v.into_iter().map(|x| x as i64).collect()
}

pub struct Dir(pub PathBuf);
impl Dir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("kmrbf-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    pub fn s(&self, f: &str) -> String {
        self.path(f).display().to_string()
    }
    /// Files in the directory (to check nothing was left behind).
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A JSON file as a value.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}
