//! `.npy` reading (f32/f64/ints, 2-D, C or Fortran order) and writing (f32, f64, i64).
//!
//! Own parser: the format is a magic string, a Python-dict header and raw little-endian data;
//! reading the data in bulk is much faster than element-wise decoding, and every failure
//! names the file and what is wrong with it.

use crate::fail::{bad_input, CliResult};
use crate::matrix::{Matrix, Values};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
    data_offset: usize,
}

fn parse_header(path: &Path, bytes: &[u8]) -> CliResult<Header> {
    let p = path.display();
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad_input(format!("{p}: not a .npy file (bad magic bytes)")));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad_input(format!("{p}: truncated .npy header")));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad_input(format!("{p}: unsupported .npy version {v}"))),
    };
    if bytes.len() < start + hlen {
        return Err(bad_input(format!("{p}: truncated .npy header")));
    }
    let h = std::str::from_utf8(&bytes[start..start + hlen])
        .map_err(|_| bad_input(format!("{p}: .npy header is not text")))?;
    let field = |key: &str| -> CliResult<String> {
        let pat = format!("'{key}':");
        let at = h
            .find(&pat)
            .ok_or_else(|| bad_input(format!("{p}: .npy header lacks '{key}'")))?;
        Ok(h[at + pat.len()..].trim_start().to_string())
    };
    let descr_rest = field("descr")?;
    let descr = descr_rest
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| bad_input(format!("{p}: cannot read the dtype in the .npy header")))?
        .to_string();
    let fortran = field("fortran_order")?.starts_with("True");
    let shape_rest = field("shape")?;
    let inner = shape_rest
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad_input(format!("{p}: cannot read the shape in the .npy header")))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad_input(format!("{p}: bad shape ({inner}) in the .npy header")))?;
    Ok(Header {
        descr,
        fortran,
        shape,
        data_offset: start + hlen,
    })
}

/// Reads a 2-D numeric `.npy` as a row-major matrix. Integer and bool arrays become f64.
pub fn read_matrix(path: &Path) -> CliResult<Matrix> {
    let p = path.display();
    let bytes = std::fs::read(path).map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    let h = parse_header(path, &bytes)?;
    if h.shape.len() != 2 {
        return Err(bad_input(format!(
            "{p}: expected a 2-D array (rows x columns), got {}-D with shape {:?}",
            h.shape.len(),
            h.shape
        )));
    }
    let (n, d) = (h.shape[0], h.shape[1]);
    let data = &bytes[h.data_offset..];
    let (kind, size, big) = dtype_parts(&h.descr).ok_or_else(|| {
        bad_input(format!(
            "{p}: unsupported dtype '{}' (use float32 or float64)",
            h.descr
        ))
    })?;
    let need = n * d * size;
    if data.len() < need {
        return Err(bad_input(format!(
            "{p}: truncated: shape {n} x {d} of {} needs {need} data bytes, file has {}",
            h.descr,
            data.len()
        )));
    }
    let data = &data[..need];
    let values = match (kind, size) {
        ('f', 4) => Values::F32(reorder(
            decode(data, big, f32::from_le_bytes, f32::from_be_bytes),
            n,
            d,
            h.fortran,
        )),
        ('f', 8) => Values::F64(reorder(
            decode(data, big, f64::from_le_bytes, f64::from_be_bytes),
            n,
            d,
            h.fortran,
        )),
        ('i', 4) => Values::F64(reorder(
            decode(data, big, i32::from_le_bytes, i32::from_be_bytes)
                .into_iter()
                .map(f64::from)
                .collect(),
            n,
            d,
            h.fortran,
        )),
        ('i', 8) => Values::F64(reorder(
            decode(data, big, i64::from_le_bytes, i64::from_be_bytes)
                .into_iter()
                .map(|v| v as f64)
                .collect(),
            n,
            d,
            h.fortran,
        )),
        _ => {
            return Err(bad_input(format!(
                "{p}: unsupported dtype '{}' (use float32, float64, int32 or int64)",
                h.descr
            )))
        }
    };
    Ok(Matrix { values, n, d })
}

/// Reads a 1-D numeric `.npy` (weights) as f64.
pub fn read_vector(path: &Path) -> CliResult<Vec<f64>> {
    let p = path.display();
    let bytes = std::fs::read(path).map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    let h = parse_header(path, &bytes)?;
    if h.shape.len() != 1 {
        return Err(bad_input(format!(
            "{p}: expected a 1-D array, got shape {:?}",
            h.shape
        )));
    }
    let n = h.shape[0];
    let (kind, size, big) = dtype_parts(&h.descr)
        .ok_or_else(|| bad_input(format!("{p}: unsupported dtype '{}'", h.descr)))?;
    let data = &bytes[h.data_offset..];
    if data.len() < n * size {
        return Err(bad_input(format!(
            "{p}: truncated: {n} values need {} bytes, file has {}",
            n * size,
            data.len()
        )));
    }
    let data = &data[..n * size];
    Ok(match (kind, size) {
        ('f', 4) => decode(data, big, f32::from_le_bytes, f32::from_be_bytes)
            .into_iter()
            .map(f64::from)
            .collect(),
        ('f', 8) => decode(data, big, f64::from_le_bytes, f64::from_be_bytes),
        ('i', 8) => decode(data, big, i64::from_le_bytes, i64::from_be_bytes)
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        ('i', 4) => decode(data, big, i32::from_le_bytes, i32::from_be_bytes)
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => return Err(bad_input(format!("{p}: unsupported dtype '{}'", h.descr))),
    })
}

fn dtype_parts(descr: &str) -> Option<(char, usize, bool)> {
    let mut ch = descr.chars();
    let order = ch.next()?;
    let kind = ch.next()?;
    let size: usize = ch.as_str().parse().ok()?;
    let big = order == '>';
    Some((kind, size, big))
}

fn decode<const S: usize, V>(
    data: &[u8],
    big: bool,
    le: fn([u8; S]) -> V,
    be: fn([u8; S]) -> V,
) -> Vec<V> {
    data.chunks_exact(S)
        .map(|c| {
            let a: [u8; S] = c.try_into().expect("chunk size");
            if big {
                be(a)
            } else {
                le(a)
            }
        })
        .collect()
}

fn reorder<V: Copy>(v: Vec<V>, n: usize, d: usize, fortran: bool) -> Vec<V> {
    if !fortran || n <= 1 || d <= 1 {
        return v;
    }
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            out.push(v[j * n + i]);
        }
    }
    out
}

fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_s = match shape {
        [a] => format!("({a},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    let total = 10 + dict.len() + 1;
    let pad = (64 - total % 64) % 64;
    dict.push_str(&" ".repeat(pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Encodes labels as a 1-D int64 `.npy`.
pub fn encode_labels(labels: &[u32]) -> Vec<u8> {
    let mut out = header_bytes("<i8", &[labels.len()]);
    out.reserve(labels.len() * 8);
    for &l in labels {
        out.extend_from_slice(&(l as i64).to_le_bytes());
    }
    out
}
