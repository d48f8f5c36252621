//! A model file is checked before llama.cpp sees it: a missing, empty, foreign or truncated
//! file must give one clear message, never an abort inside C++.
//!
//! The check reads the GGUF header (metadata and tensor table) and verifies that every
//! tensor's data lies inside the file, which is what a download cut short violates.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Guards against absurd counts in a corrupt header (before allocating anything).
const MAX_COUNT: u64 = 1 << 24;
const MAX_STRING: u64 = 1 << 26;

/// What the header says, for the `model` command and the checks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GgufSummary {
    pub version: u32,
    pub n_tensors: u64,
    pub n_kv: u64,
    /// String and integer metadata (arrays are skipped).
    pub meta: HashMap<String, String>,
    /// Bytes the file must have to hold every tensor.
    pub required_size: u64,
    pub file_size: u64,
}

impl GgufSummary {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }

    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture")
    }

    pub fn has_chat_template(&self) -> bool {
        self.meta.contains_key("tokenizer.chat_template")
    }

    /// The quantization named by `general.file_type` (llama.cpp's `llama_ftype`).
    pub fn quantization(&self) -> String {
        match self
            .get("general.file_type")
            .and_then(|v| v.parse::<u32>().ok())
        {
            Some(t) => ftype_name(t)
                .map(str::to_string)
                .unwrap_or_else(|| format!("file type {t}")),
            None => "unknown".to_string(),
        }
    }
}

/// Why a file is not a usable GGUF model.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a GGUF file (it starts with {0:?}, a GGUF model starts with \"GGUF\")")]
    NotGguf(String),
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("the GGUF header is damaged ({0})")]
    Header(String),
    #[error("the file ends inside its GGUF header, at byte {0}")]
    HeaderCut(u64),
    #[error("the file is truncated: it has {have} bytes but its tensors need {need}")]
    Truncated { have: u64, need: u64 },
}

/// Read and check the header of the GGUF file at `path`.
pub fn inspect(path: &Path) -> Result<GgufSummary, GgufError> {
    let file = File::open(path)?;
    let file_size = file.metadata()?.len();
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 16, file),
        pos: 0,
    };
    let summary = read_header(&mut r, file_size)?;
    if summary.required_size > file_size {
        return Err(GgufError::Truncated {
            have: file_size,
            need: summary.required_size,
        });
    }
    Ok(summary)
}

struct Reader<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => GgufError::HeaderCut(self.pos),
            _ => GgufError::Io(e),
        })?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u8(&mut self) -> Result<u8, GgufError> {
        Ok(self.bytes::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn count(&mut self, what: &str) -> Result<u64, GgufError> {
        let n = self.u64()?;
        if n > MAX_COUNT {
            return Err(GgufError::Header(format!("implausible {what} count {n}")));
        }
        Ok(n)
    }
    fn skip(&mut self, n: u64) -> Result<(), GgufError> {
        let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
        self.pos += copied;
        if copied < n {
            return Err(GgufError::HeaderCut(self.pos));
        }
        Ok(())
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let len = self.u64()?;
        if len > MAX_STRING {
            return Err(GgufError::Header(format!(
                "implausible string length {len}"
            )));
        }
        let mut buf = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => GgufError::HeaderCut(self.pos),
                _ => GgufError::Io(e),
            })?;
        self.pos += len;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

// GGUF value types.
const T_UINT8: u32 = 0;
const T_INT8: u32 = 1;
const T_UINT16: u32 = 2;
const T_INT16: u32 = 3;
const T_UINT32: u32 = 4;
const T_INT32: u32 = 5;
const T_FLOAT32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_UINT64: u32 = 10;
const T_INT64: u32 = 11;
const T_FLOAT64: u32 = 12;

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        T_UINT8 | T_INT8 | T_BOOL => 1,
        T_UINT16 | T_INT16 => 2,
        T_UINT32 | T_INT32 | T_FLOAT32 => 4,
        T_UINT64 | T_INT64 | T_FLOAT64 => 8,
        _ => return None,
    })
}

/// A value as text (scalars and strings); `None` for arrays, which are skipped.
fn read_value<R: Read>(r: &mut Reader<R>, t: u32) -> Result<Option<String>, GgufError> {
    Ok(Some(match t {
        T_UINT8 => r.u8()?.to_string(),
        T_INT8 => (r.u8()? as i8).to_string(),
        T_UINT16 => u16::from_le_bytes(r.bytes()?).to_string(),
        T_INT16 => i16::from_le_bytes(r.bytes()?).to_string(),
        T_UINT32 => r.u32()?.to_string(),
        T_INT32 => (r.u32()? as i32).to_string(),
        T_FLOAT32 => f32::from_le_bytes(r.bytes()?).to_string(),
        T_BOOL => (r.u8()? != 0).to_string(),
        T_STRING => r.string()?,
        T_UINT64 => r.u64()?.to_string(),
        T_INT64 => (r.u64()? as i64).to_string(),
        T_FLOAT64 => f64::from_le_bytes(r.bytes()?).to_string(),
        T_ARRAY => {
            let item = r.u32()?;
            let n = r.u64()?;
            if item == T_STRING {
                if n > MAX_COUNT {
                    return Err(GgufError::Header(format!("implausible array length {n}")));
                }
                for _ in 0..n {
                    let len = r.u64()?;
                    if len > MAX_STRING {
                        return Err(GgufError::Header(format!(
                            "implausible string length {len}"
                        )));
                    }
                    r.skip(len)?;
                }
            } else {
                let size = scalar_size(item)
                    .ok_or_else(|| GgufError::Header(format!("unknown array item type {item}")))?;
                let total = n
                    .checked_mul(size)
                    .ok_or_else(|| GgufError::Header(format!("implausible array length {n}")))?;
                r.skip(total)?;
            }
            return Ok(None);
        }
        other => return Err(GgufError::Header(format!("unknown value type {other}"))),
    }))
}

fn read_header<R: Read>(r: &mut Reader<R>, file_size: u64) -> Result<GgufSummary, GgufError> {
    let magic: [u8; 4] = r
        .bytes()
        .map_err(|_| GgufError::NotGguf(format!("a file of {file_size} bytes")))?;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf(
            String::from_utf8_lossy(&magic).into_owned(),
        ));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version(version));
    }
    let n_tensors = r.count("tensor")?;
    let n_kv = r.count("metadata")?;
    let mut meta = HashMap::new();
    for _ in 0..n_kv {
        let key = r.string()?;
        let t = r.u32()?;
        if let Some(v) = read_value(r, t)? {
            meta.insert(key, v);
        }
    }
    let alignment = meta
        .get("general.alignment")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|a| *a > 0 && a.is_power_of_two())
        .unwrap_or(DEFAULT_ALIGNMENT);
    let mut data_end: u64 = 0;
    for _ in 0..n_tensors {
        let _name = r.string()?;
        let n_dims = r.u32()?;
        if n_dims > 8 {
            return Err(GgufError::Header(format!(
                "tensor with {n_dims} dimensions"
            )));
        }
        let mut elements: u64 = 1;
        for _ in 0..n_dims {
            elements = elements.saturating_mul(r.u64()?);
        }
        let ggml_type = r.u32()?;
        let offset = r.u64()?;
        // Types this table does not know still count with their offset.
        let size = tensor_bytes(ggml_type, elements).unwrap_or(0);
        data_end = data_end.max(offset.saturating_add(size));
    }
    let data_start = r.pos.div_ceil(alignment) * alignment;
    Ok(GgufSummary {
        version,
        n_tensors,
        n_kv,
        meta,
        required_size: data_start.saturating_add(data_end),
        file_size,
    })
}

/// Bytes of a tensor of `elements` values of ggml type `t` (block size, bytes per block).
fn tensor_bytes(t: u32, elements: u64) -> Option<u64> {
    let (block, bytes): (u64, u64) = match t {
        0 => (1, 4),     // F32
        1 => (1, 2),     // F16
        2 => (32, 18),   // Q4_0
        3 => (32, 20),   // Q4_1
        6 => (32, 22),   // Q5_0
        7 => (32, 24),   // Q5_1
        8 => (32, 34),   // Q8_0
        9 => (32, 36),   // Q8_1
        10 => (256, 84), // Q2_K
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 => (256, 66), // IQ2_XXS
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        20 => (32, 18), // IQ4_NL
        21 => (256, 110),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1), // I8
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),    // F64
        29 => (256, 56), // IQ1_M
        30 => (1, 2),    // BF16
        _ => return None,
    };
    Some(elements.div_ceil(block).saturating_mul(bytes))
}

fn ftype_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    /// A tiny well-formed GGUF: two metadata keys, one F32 tensor of 8 values.
    fn tiny_gguf() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(b"GGUF");
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes()); // tensors
        b.extend(3u64.to_le_bytes()); // kv
        string(&mut b, "general.architecture");
        b.extend(T_STRING.to_le_bytes());
        string(&mut b, "llama");
        string(&mut b, "general.file_type");
        b.extend(T_UINT32.to_le_bytes());
        b.extend(3u32.to_le_bytes());
        string(&mut b, "tokenizer.ggml.tokens");
        b.extend(T_ARRAY.to_le_bytes());
        b.extend(T_STRING.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        string(&mut b, "a");
        string(&mut b, "bc");
        string(&mut b, "w");
        b.extend(1u32.to_le_bytes());
        b.extend(8u64.to_le_bytes());
        b.extend(0u32.to_le_bytes()); // F32
        b.extend(0u64.to_le_bytes()); // offset
        while b.len() % 32 != 0 {
            b.push(0);
        }
        b.extend([0u8; 32]);
        b
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn reads_a_well_formed_header() {
        let f = write(&tiny_gguf());
        let s = inspect(f.path()).unwrap();
        assert_eq!(s.architecture(), Some("llama"));
        assert_eq!(s.quantization(), "Q4_1");
        assert_eq!(s.required_size, s.file_size);
    }

    #[test]
    fn truncated_data_is_caught() {
        let bytes = tiny_gguf();
        let f = write(&bytes[..bytes.len() - 5]);
        assert!(matches!(
            inspect(f.path()),
            Err(GgufError::Truncated { .. })
        ));
        let f = write(&bytes[..40]);
        assert!(matches!(inspect(f.path()), Err(GgufError::HeaderCut(_))));
    }

    #[test]
    fn foreign_and_empty_files_are_not_gguf() {
        let f = write(b"<html>not a model</html>");
        assert!(matches!(inspect(f.path()), Err(GgufError::NotGguf(_))));
        let f = write(b"");
        assert!(matches!(inspect(f.path()), Err(GgufError::NotGguf(_))));
    }
}
