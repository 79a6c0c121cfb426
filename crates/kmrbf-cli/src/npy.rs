//! `.npy` reading (float32/float64/int32/int64, 2-D matrices and 1-D vectors, C or Fortran
//! order) and writing (f32, f64, i64).
//!
//! The reader is as strict as numpy's own (`numpy.lib.format`): versions 1.0, 2.0 and 3.0
//! with their header-length fields and encodings, a header of at most 10,000 bytes (numpy's
//! `max_header_size`), a Python dict literal with exactly the keys `descr`, `fortran_order`
//! and `shape`, each of its type. Every size taken from the file (header length, the product
//! of the shape, the byte count of the data) is computed with checked arithmetic and compared
//! with the bytes the file really has before anything is allocated for it. Every error names
//! the file and what is wrong, with the byte offset in the header where it helps.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fail::{bad_input, CliError, CliResult};
use crate::matrix::{Matrix, Values};
use std::io::Read;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// numpy's default `max_header_size`: longer headers are refused as unsafe to parse.
pub const MAX_HEADER_SIZE: usize = 10_000;

/// Nesting depth of the header literal past which it is refused (numpy's dtype descriptors
/// never need more than a few levels).
const MAX_DEPTH: usize = 16;

/// Element types kmrbf reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
    /// Two's-complement 32-bit integers (read as f64).
    I32,
    /// Two's-complement 64-bit integers (read as f64).
    I64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

/// A parsed, checked `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Element type.
    pub dtype: Dtype,
    /// Big-endian elements.
    pub big_endian: bool,
    /// Column-major (Fortran) element order.
    pub fortran: bool,
    /// The shape, each dimension a non-negative integer.
    pub shape: Vec<usize>,
    /// Bytes before the data (magic, version, length field, header).
    pub data_offset: usize,
}

/// A value of the Python literal subset a `.npy` header uses.
#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Str(String),
    /// An integer that fits in i128 (larger ones are refused while parsing).
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    fn kind(&self) -> &'static str {
        match self {
            Lit::Str(_) => "a string",
            Lit::Int(_) => "an integer",
            Lit::Bool(_) => "a bool",
            Lit::None => "None",
            Lit::Tuple(_) => "a tuple",
            Lit::List(_) => "a list",
            Lit::Dict(_) => "a dict",
        }
    }
}

/// A recursive-descent parser of Python literals over the header's characters.
struct LitParser<'a> {
    chars: Vec<char>,
    pos: usize,
    name: &'a str,
}

impl LitParser<'_> {
    fn err(&self, what: impl std::fmt::Display) -> CliError {
        bad_input(format!(
            "{}: bad .npy header at character {}: {what}",
            self.name, self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, c: char) -> CliResult<()> {
        match self.peek() {
            Some(got) if got == c => {
                self.pos += 1;
                Ok(())
            }
            Some(got) => Err(self.err(format!("expected '{c}', found '{got}'"))),
            None => Err(self.err(format!("expected '{c}', found the end of the header"))),
        }
    }

    fn value(&mut self, depth: usize) -> CliResult<Lit> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        match self.peek() {
            None => Err(self.err("expected a value, found the end of the header")),
            Some('{') => self.dict(depth),
            Some('(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.items(')', depth)?;
                // `(x)` is x in Python, `(x,)` a tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().unwrap_or(Lit::None))
                } else {
                    Ok(Lit::Tuple(items))
                }
            }
            Some('[') => {
                self.pos += 1;
                Ok(Lit::List(self.items(']', depth)?.0))
            }
            Some('\'' | '"') => self.string().map(Lit::Str),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    "None" => Ok(Lit::None),
                    _ => {
                        self.pos = start;
                        Err(self.err(format!(
                            "'{word}' is not a literal (only strings, numbers, True, False, None, tuples, lists and dicts are)"
                        )))
                    }
                }
            }
            Some(c) => Err(self.err(format!("unexpected '{c}'"))),
        }
    }

    /// Comma-separated values up to `close`; also says whether a comma preceded `close`.
    fn items(&mut self, close: char, depth: usize) -> CliResult<(Vec<Lit>, bool)> {
        let mut out = Vec::new();
        let mut trailing = false;
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((out, trailing));
            }
            out.push(self.value(depth + 1)?);
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    trailing = true;
                }
                Some(c) if c == close => {
                    trailing = false;
                }
                Some(c) => return Err(self.err(format!("expected ',' or '{close}', found '{c}'"))),
                None => {
                    return Err(self.err(format!(
                        "expected ',' or '{close}', found the end of the header"
                    )))
                }
            }
        }
    }

    fn dict(&mut self, depth: usize) -> CliResult<Lit> {
        self.expect('{')?;
        let mut out: Vec<(Lit, Lit)> = Vec::new();
        loop {
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Lit::Dict(out));
            }
            let at = self.pos;
            let key = self.value(depth + 1)?;
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            if out.iter().any(|(k, _)| *k == key) {
                self.pos = at;
                return Err(self.err(format!("the key {key:?} appears twice")));
            }
            out.push((key, value));
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                Some(c) => return Err(self.err(format!("expected ',' or '}}', found '{c}'"))),
                None => return Err(self.err("expected ',' or '}', found the end of the header")),
            }
        }
    }

    fn string(&mut self) -> CliResult<String> {
        let quote = self.chars.get(self.pos).copied().unwrap_or('\'');
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.chars.get(self.pos).copied() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(s),
                '\n' => return Err(self.err("line break inside a string")),
                '\\' => {
                    let Some(e) = self.chars.get(self.pos).copied() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    s.push(match e {
                        '\\' | '\'' | '"' => e,
                        'n' => '\n',
                        't' => '\t',
                        _ => {
                            return Err(self.err(format!("unsupported escape '\\{e}' in a string")))
                        }
                    });
                }
                c => s.push(c),
            }
        }
    }

    fn int(&mut self) -> CliResult<Lit> {
        let start = self.pos;
        let mut neg = false;
        if let Some(s @ ('-' | '+')) = self.chars.get(self.pos).copied() {
            neg = s == '-';
            self.pos += 1;
            self.skip_ws();
        }
        let digits_start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_digit() || *c == '_')
        {
            self.pos += 1;
        }
        let digits: String = self.chars[digits_start..self.pos]
            .iter()
            .filter(|c| **c != '_')
            .collect();
        if digits.is_empty() {
            self.pos = start;
            return Err(self.err("expected digits"));
        }
        if self
            .chars
            .get(self.pos)
            .is_some_and(|c| *c == '.' || *c == 'e' || *c == 'E')
        {
            self.pos = start;
            return Err(self.err("a non-integer number"));
        }
        // Python 2 wrote long integers as `3L`; numpy still reads them in version 1.0 / 2.0.
        if self
            .chars
            .get(self.pos)
            .is_some_and(|c| *c == 'L' || *c == 'l')
        {
            self.pos += 1;
        }
        let v: i128 = match digits.parse::<i128>() {
            Ok(v) => v,
            Err(_) => {
                self.pos = start;
                return Err(self.err(format!("the integer {digits} is too large")));
            }
        };
        Ok(Lit::Int(if neg { -v } else { v }))
    }
}

/// The dtype of a `descr` string: `[<>=|]?` then `f4`, `f8`, `i4` or `i8`, or the names
/// `float32`, `float64`, `int32`, `int64` (native order).
fn parse_descr(name: &str, descr: &Lit) -> CliResult<(Dtype, bool)> {
    let unsupported = |d: &str| {
        bad_input(format!(
            "{name}: unsupported dtype {d} in the .npy header (kmrbf reads float32, float64, int32 and int64)"
        ))
    };
    let Lit::Str(s) = descr else {
        return Err(unsupported(&format!(
            "{} (a structured or nested dtype)",
            descr.kind()
        )));
    };
    let native_big = cfg!(target_endian = "big");
    let (order, code) = match s.chars().next() {
        Some('<') => (Some(false), &s[1..]),
        Some('>') => (Some(true), &s[1..]),
        Some('=' | '|') => (None, &s[1..]),
        _ => (None, s.as_str()),
    };
    let dtype = match code {
        "f4" | "float32" => Dtype::F32,
        "f8" | "float64" => Dtype::F64,
        "i4" | "int32" => Dtype::I32,
        "i8" | "int64" => Dtype::I64,
        _ => return Err(unsupported(&format!("'{s}'"))),
    };
    if s.starts_with('|') {
        // '|' means "byte order not applicable": numpy never writes it for multi-byte types.
        return Err(unsupported(&format!(
            "'{s}' (no byte order for a multi-byte type)"
        )));
    }
    Ok((dtype, order.unwrap_or(native_big)))
}

/// Parses the header text (after the length field) of a version-`version` file.
fn parse_dict(name: &str, text: Vec<char>, version: (u8, u8), offset: usize) -> CliResult<Header> {
    let mut p = LitParser {
        chars: text,
        pos: 0,
        name,
    };
    let lit = p.value(0)?;
    if let Some(c) = p.peek() {
        return Err(p.err(format!("unexpected '{c}' after the header's dict")));
    }
    let Lit::Dict(items) = lit else {
        return Err(bad_input(format!(
            "{name}: .npy header is not a dict but {}",
            lit.kind()
        )));
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in items {
        match k {
            Lit::Str(k) if k == "descr" => descr = Some(v),
            Lit::Str(k) if k == "fortran_order" => fortran = Some(v),
            Lit::Str(k) if k == "shape" => shape = Some(v),
            other => {
                return Err(bad_input(format!(
                    "{name}: .npy header has the unexpected key {} (numpy requires exactly 'descr', 'fortran_order' and 'shape')",
                    match &other {
                        Lit::Str(s) => format!("'{s}'"),
                        o => o.kind().to_string(),
                    }
                )))
            }
        }
    }
    let missing = |k: &str| {
        bad_input(format!(
            "{name}: .npy header lacks the key '{k}' (numpy requires exactly 'descr', 'fortran_order' and 'shape')"
        ))
    };
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Lit::Bool(b) => b,
        other => {
            return Err(bad_input(format!(
                "{name}: .npy header: fortran_order must be True or False, not {}",
                other.kind()
            )))
        }
    };
    let dims = match shape.ok_or_else(|| missing("shape"))? {
        Lit::Tuple(d) => d,
        other => {
            return Err(bad_input(format!(
                "{name}: .npy header: shape must be a tuple of integers, not {}",
                other.kind()
            )))
        }
    };
    let mut shape = Vec::with_capacity(dims.len().min(64));
    for (axis, dim) in dims.iter().enumerate() {
        let v = match dim {
            Lit::Int(v) => *v,
            other => {
                return Err(bad_input(format!(
                    "{name}: .npy header: shape dimension {axis} is {}, not an integer",
                    other.kind()
                )))
            }
        };
        let v = usize::try_from(v).map_err(|_| {
            bad_input(format!(
                "{name}: .npy header: shape dimension {axis} is {v}, outside 0 ..= {}",
                usize::MAX
            ))
        })?;
        shape.push(v);
    }
    let (dtype, big_endian) = parse_descr(name, &descr)?;
    Ok(Header {
        version,
        dtype,
        big_endian,
        fortran,
        shape,
        data_offset: offset,
    })
}

/// Reads and checks the magic, version, length field and header from `r`; `name` names the
/// source in errors. Reads exactly `data_offset` bytes.
pub fn read_header(r: &mut impl Read, file_len: u64, name: &str) -> CliResult<Header> {
    let io = |e: std::io::Error| bad_input(format!("{name}: cannot read: {e}"));
    let mut pre = [0u8; 8];
    if file_len < 10 {
        return Err(bad_input(format!(
            "{name}: not a .npy file ({file_len} bytes, shorter than any .npy header)"
        )));
    }
    r.read_exact(&mut pre).map_err(io)?;
    if &pre[..6] != MAGIC {
        return Err(bad_input(format!(
            "{name}: not a .npy file (bad magic bytes)"
        )));
    }
    let version = (pre[6], pre[7]);
    let len_field = match version {
        (1, 0) => 2usize,
        (2, 0) | (3, 0) => 4,
        (a, b) => {
            return Err(bad_input(format!(
                "{name}: unsupported .npy format version {a}.{b} (numpy writes 1.0, 2.0 and 3.0)"
            )))
        }
    };
    let mut lenb = [0u8; 4];
    r.read_exact(&mut lenb[..len_field]).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            bad_input(format!("{name}: truncated .npy header"))
        } else {
            io(e)
        }
    })?;
    let hlen = u32::from_le_bytes(lenb) as usize;
    if hlen > MAX_HEADER_SIZE {
        return Err(bad_input(format!(
            "{name}: .npy header of {hlen} bytes is longer than numpy's limit of {MAX_HEADER_SIZE}"
        )));
    }
    let offset = 8 + len_field + hlen;
    if (offset as u64) > file_len {
        return Err(bad_input(format!(
            "{name}: truncated .npy header: it claims {hlen} bytes, the file has {}",
            file_len.saturating_sub(8 + len_field as u64)
        )));
    }
    let mut head = vec![0u8; hlen];
    r.read_exact(&mut head).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            bad_input(format!("{name}: truncated .npy header"))
        } else {
            io(e)
        }
    })?;
    let text: Vec<char> = if version.0 >= 3 {
        std::str::from_utf8(&head)
            .map_err(|e| {
                bad_input(format!(
                    "{name}: .npy header (version 3.0) is not UTF-8 at byte {}",
                    e.valid_up_to()
                ))
            })?
            .chars()
            .collect()
    } else {
        // Versions 1.0 and 2.0 are latin-1: every byte is one character.
        head.iter().map(|&b| char::from(b)).collect()
    };
    parse_dict(name, text, version, offset)
}

/// The number of elements of `shape` and their bytes, checked against overflow and against
/// `data_len`, the bytes the file has after its header.
pub fn element_count(h: &Header, data_len: u64, name: &str) -> CliResult<usize> {
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            bad_input(format!(
                "{name}: shape {:?} has more elements than this machine can address",
                h.shape
            ))
        })?;
    let size = h.dtype.size();
    let need = count
        .checked_mul(size)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| {
            bad_input(format!(
                "{name}: shape {:?} needs more bytes than this machine can address",
                h.shape
            ))
        })?;
    if data_len < need {
        return Err(bad_input(format!(
            "{name}: truncated: shape {:?} of {size}-byte elements needs {need} data bytes, the file has {data_len}",
            h.shape
        )));
    }
    Ok(count)
}

/// Reads `count` elements of `S` bytes in blocks of at most 1 MiB, decoding each with `conv`
/// (peak memory: the output plus one block). `count * S` was checked against the file.
fn read_values<V, const S: usize>(
    r: &mut impl Read,
    name: &str,
    count: usize,
    conv: impl Fn([u8; S]) -> V,
) -> CliResult<Vec<V>> {
    let total = count.saturating_mul(S);
    let mut out = kmrbf::memory::vec_with_capacity(count);
    let mut buf = vec![0u8; total.min((1 << 20) / S * S)];
    let mut left = total;
    while left > 0 {
        let take = left.min(buf.len());
        r.read_exact(&mut buf[..take]).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                bad_input(format!("{name}: truncated: the data ended early"))
            } else {
                bad_input(format!("{name}: cannot read: {e}"))
            }
        })?;
        for c in buf[..take].chunks_exact(S) {
            let mut a = [0u8; S];
            a.copy_from_slice(c);
            out.push(conv(a));
        }
        left -= take;
    }
    Ok(out)
}

/// The `count` elements after the header as `F32` (float32) or `F64` (float64, int32, int64).
fn read_numeric(r: &mut impl Read, h: &Header, name: &str, count: usize) -> CliResult<Values> {
    let big = h.big_endian;
    Ok(match (h.dtype, big) {
        (Dtype::F32, false) => Values::F32(read_values(r, name, count, f32::from_le_bytes)?),
        (Dtype::F32, true) => Values::F32(read_values(r, name, count, f32::from_be_bytes)?),
        (Dtype::F64, false) => Values::F64(read_values(r, name, count, f64::from_le_bytes)?),
        (Dtype::F64, true) => Values::F64(read_values(r, name, count, f64::from_be_bytes)?),
        (Dtype::I32, b) => Values::F64(read_values(r, name, count, move |a: [u8; 4]| {
            f64::from(if b {
                i32::from_be_bytes(a)
            } else {
                i32::from_le_bytes(a)
            })
        })?),
        (Dtype::I64, b) => Values::F64(read_values(r, name, count, move |a: [u8; 8]| {
            (if b {
                i64::from_be_bytes(a)
            } else {
                i64::from_le_bytes(a)
            }) as f64
        })?),
    })
}

/// Opens `path` and returns the file and its length.
fn open(path: &Path) -> CliResult<(std::io::BufReader<std::fs::File>, u64)> {
    let p = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?
        .len();
    Ok((std::io::BufReader::with_capacity(1 << 16, file), len))
}

/// Reads a 2-D numeric `.npy` file as a row-major matrix. Integer arrays become f64.
pub fn read_matrix(path: &Path) -> CliResult<Matrix> {
    let (mut f, len) = open(path)?;
    read_matrix_from(&mut f, len, &path.display().to_string())
}

/// Reads a 2-D `.npy` of `len` bytes from `r`; `name` names it in errors.
pub fn read_matrix_from(r: &mut impl Read, len: u64, name: &str) -> CliResult<Matrix> {
    let h = read_header(r, len, name)?;
    let &[n, d] = h.shape.as_slice() else {
        return Err(bad_input(format!(
            "{name}: expected a 2-D array (rows x columns), got {}-D with shape {:?}",
            h.shape.len(),
            h.shape
        )));
    };
    let count = element_count(&h, len - h.data_offset as u64, name)?;
    let values = match read_numeric(r, &h, name, count)? {
        Values::F32(v) => Values::F32(reorder(v, n, d, h.fortran)),
        Values::F64(v) => Values::F64(reorder(v, n, d, h.fortran)),
    };
    Ok(Matrix { values, n, d })
}

/// Reads a 1-D numeric `.npy` file (weights) as f64.
pub fn read_vector(path: &Path) -> CliResult<Vec<f64>> {
    let (mut f, len) = open(path)?;
    read_vector_from(&mut f, len, &path.display().to_string())
}

/// Reads a 1-D `.npy` of `len` bytes from `r` as f64; `name` names it in errors.
pub fn read_vector_from(r: &mut impl Read, len: u64, name: &str) -> CliResult<Vec<f64>> {
    let h = read_header(r, len, name)?;
    if h.shape.len() != 1 {
        return Err(bad_input(format!(
            "{name}: expected a 1-D array, got shape {:?}",
            h.shape
        )));
    }
    let count = element_count(&h, len - h.data_offset as u64, name)?;
    Ok(match read_numeric(r, &h, name, count)? {
        Values::F32(v) => v.into_iter().map(f64::from).collect(),
        Values::F64(v) => v,
    })
}

/// Column-major `v` (`n x d`) in row-major order; row-major `v` unchanged.
fn reorder<V: Copy>(v: Vec<V>, n: usize, d: usize, fortran: bool) -> Vec<V> {
    if !fortran || n <= 1 || d <= 1 {
        return v;
    }
    let mut out = kmrbf::memory::vec_with_capacity(v.len());
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
/// The header of a C-order `.npy` of little-endian f32 (`f32 = true`) or f64 values of `shape`.
pub fn float_header(f32: bool, shape: &[usize]) -> Vec<u8> {
    header_bytes(if f32 { "<f4" } else { "<f8" }, shape)
}

/// The header of an int64 `.npy` of `n` labels (the values follow as little-endian i64).
pub fn labels_header(n: usize) -> Vec<u8> {
    header_bytes("<i8", &[n])
}

pub fn encode_labels(labels: &[u32]) -> Vec<u8> {
    let mut out = labels_header(labels.len());
    out.reserve(labels.len() * 8);
    for &l in labels {
        out.extend_from_slice(&(l as i64).to_le_bytes());
    }
    out
}
