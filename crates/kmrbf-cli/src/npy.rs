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

/// An opened `.npy`: its header, and the file positioned at the data.
struct Opened {
    h: Header,
    file: std::fs::File,
    data_len: u64,
}

fn open(path: &Path) -> CliResult<Opened> {
    use std::io::Read;
    let p = path.display();
    let mut file =
        std::fs::File::open(path).map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?
        .len();
    let mut pre = vec![0u8; 12.min(len as usize)];
    file.read_exact(&mut pre)
        .map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    if pre.len() < 10 || &pre[..6] != MAGIC {
        return Err(bad_input(format!("{p}: not a .npy file (bad magic bytes)")));
    }
    let hlen = if pre[6] == 1 {
        u16::from_le_bytes([pre[8], pre[9]]) as usize + 10
    } else if pre.len() >= 12 {
        u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize + 12
    } else {
        return Err(bad_input(format!("{p}: truncated .npy header")));
    };
    if (hlen as u64) > len {
        return Err(bad_input(format!("{p}: truncated .npy header")));
    }
    let mut head = pre;
    head.resize(hlen, 0);
    let already = 12.min(len as usize);
    if hlen > already {
        file.read_exact(&mut head[already..])
            .map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    }
    let h = parse_header(path, &head)?;
    // `pre` may have read past a version-1 header: seek to the data.
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(h.data_offset as u64))
        .map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    Ok(Opened {
        data_len: len - h.data_offset as u64,
        h,
        file,
    })
}

/// Reads `count` values of `size` bytes in 1 MiB blocks, decoding each into `out`
/// (peak memory: the output plus one block).
fn read_values<V, const S: usize>(
    o: &mut Opened,
    path: &Path,
    count: usize,
    conv: impl Fn([u8; S]) -> V,
) -> CliResult<Vec<V>> {
    use std::io::Read;
    let mut out = kmrbf::memory::vec_with_capacity(count);
    let mut buf = vec![0u8; (1 << 20) / S * S];
    let mut left = count * S;
    while left > 0 {
        let take = left.min(buf.len());
        o.file
            .read_exact(&mut buf[..take])
            .map_err(|e| bad_input(format!("{}: cannot read: {e}", path.display())))?;
        out.extend(
            buf[..take]
                .chunks_exact(S)
                .map(|c| conv(c.try_into().expect("chunk"))),
        );
        left -= take;
    }
    Ok(out)
}

/// Values of a numeric `.npy` as `F32` (float32) or `F64` (float64, int32, int64).
fn read_numeric(o: &mut Opened, path: &Path, count: usize) -> CliResult<Values> {
    let p = path.display();
    let descr = o.h.descr.clone();
    let (kind, size, big) = dtype_parts(&descr).ok_or_else(|| {
        bad_input(format!(
            "{p}: unsupported dtype '{descr}' (use float32 or float64)"
        ))
    })?;
    if !matches!((kind, size), ('f', 4) | ('f', 8) | ('i', 4) | ('i', 8)) {
        return Err(bad_input(format!(
            "{p}: unsupported dtype '{descr}' (use float32, float64, int32 or int64)"
        )));
    }
    let need = (count * size) as u64;
    if o.data_len < need {
        return Err(bad_input(format!(
            "{p}: truncated: {count} values of {descr} need {need} data bytes, file has {}",
            o.data_len
        )));
    }
    Ok(match (kind, size, big) {
        ('f', 4, false) => Values::F32(read_values(o, path, count, f32::from_le_bytes)?),
        ('f', 4, true) => Values::F32(read_values(o, path, count, f32::from_be_bytes)?),
        ('f', 8, false) => Values::F64(read_values(o, path, count, f64::from_le_bytes)?),
        ('f', 8, true) => Values::F64(read_values(o, path, count, f64::from_be_bytes)?),
        ('i', 4, b) => Values::F64(read_values(o, path, count, move |a: [u8; 4]| {
            f64::from(if b {
                i32::from_be_bytes(a)
            } else {
                i32::from_le_bytes(a)
            })
        })?),
        (_, _, b) => Values::F64(read_values(o, path, count, move |a: [u8; 8]| {
            (if b {
                i64::from_be_bytes(a)
            } else {
                i64::from_le_bytes(a)
            }) as f64
        })?),
    })
}

/// Reads a 2-D numeric `.npy` as a row-major matrix. Integer arrays become f64.
pub fn read_matrix(path: &Path) -> CliResult<Matrix> {
    let mut o = open(path)?;
    if o.h.shape.len() != 2 {
        return Err(bad_input(format!(
            "{}: expected a 2-D array (rows x columns), got {}-D with shape {:?}",
            path.display(),
            o.h.shape.len(),
            o.h.shape
        )));
    }
    let (n, d) = (o.h.shape[0], o.h.shape[1]);
    let fortran = o.h.fortran;
    let values = match read_numeric(&mut o, path, n * d)? {
        Values::F32(v) => Values::F32(reorder(v, n, d, fortran)),
        Values::F64(v) => Values::F64(reorder(v, n, d, fortran)),
    };
    Ok(Matrix { values, n, d })
}

/// Reads a 1-D numeric `.npy` (weights) as f64.
pub fn read_vector(path: &Path) -> CliResult<Vec<f64>> {
    let mut o = open(path)?;
    if o.h.shape.len() != 1 {
        return Err(bad_input(format!(
            "{}: expected a 1-D array, got shape {:?}",
            path.display(),
            o.h.shape
        )));
    }
    let n = o.h.shape[0];
    Ok(match read_numeric(&mut o, path, n)? {
        Values::F32(v) => v.into_iter().map(f64::from).collect(),
        Values::F64(v) => v,
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

fn reorder<V: Copy>(v: Vec<V>, n: usize, d: usize, fortran: bool) -> Vec<V> {
    if !fortran || n <= 1 || d <= 1 {
        return v;
    }
    let mut out = kmrbf::memory::vec_with_capacity(n * d);
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

/// Encodes a row-major matrix of shape `shape` as an f64 `.npy`.
pub fn encode_f64(values: &[f64], shape: &[usize]) -> Vec<u8> {
    let mut out = header_bytes("<f8", shape);
    out.reserve(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Encodes a row-major matrix of shape `shape` as an f32 `.npy`.
pub fn encode_f32(values: &[f32], shape: &[usize]) -> Vec<u8> {
    let mut out = header_bytes("<f4", shape);
    out.reserve(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
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
