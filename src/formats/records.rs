//! Splitting an input stream into records: JSON Lines or one JSON array (pretty-printed or
//! not), told apart by content, with gzip read transparently.
//!
//! Each record comes with where it starts in the file (line, and for arrays its item
//! index), so every error can name a line. Only one record is held at a time: memory does
//! not grow with the size of the file, arrays included.

use super::LineError;
use std::io::{self, BufRead, BufReader};

/// How the records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One JSON value per line.
    Lines,
    /// One JSON array whose items are the records.
    Array,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Lines => "JSON Lines",
            Layout::Array => "JSON array",
        }
    }
}

/// Where a record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line of the file (after decompression) where the record starts.
    pub line: u64,
    /// 0-based index of the item in a JSON array; `None` for JSON Lines.
    pub item: Option<u64>,
}

/// What [`Records::next`] found.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A record's text is in the buffer.
    Record(Position),
    /// The stream is malformed at this point (not a JSON problem inside one record).
    Bad(Position, LineError),
    End,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: &[u8] = "\u{feff}".as_bytes();

/// Open a stream: undo gzip if present and tell the layout from the first character.
/// `Err` carries a message for the user when the input is neither JSON Lines nor a JSON
/// array (a Parquet file, zstd, a spreadsheet, …).
pub fn open<'a>(
    mut reader: impl BufRead + Send + 'a,
) -> io::Result<Result<Records<Box<dyn BufRead + Send + 'a>>, String>> {
    let gzip = reader.fill_buf()?.starts_with(&GZIP_MAGIC);
    let mut reader: Box<dyn BufRead + Send + 'a> = if gzip {
        // Multi-member: `cat a.gz b.gz` and bgzip output are one stream.
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    let mut line = 1;
    // Leading BOM and blank space say nothing about the layout; skip them (counting lines).
    let start = {
        let head = reader.fill_buf()?;
        if head.starts_with(UTF8_BOM) {
            reader.consume(UTF8_BOM.len());
        }
        loop {
            let head = reader.fill_buf()?;
            let Some(&b) = head.first() else { break None };
            if b.is_ascii_whitespace() {
                if b == b'\n' {
                    line += 1;
                }
                reader.consume(1);
            } else {
                break Some(b);
            }
        }
    };
    let layout = match start {
        None | Some(b'{') => Layout::Lines,
        Some(b'[') => {
            reader.consume(1);
            Layout::Array
        }
        Some(_) => {
            let head = reader.fill_buf()?;
            return Ok(Err(neither_message(head, gzip)));
        }
    };
    Ok(Ok(Records {
        reader,
        layout,
        gzip,
        line,
        item: 0,
        closed: false,
        done: false,
    }))
}

/// Say what the input seems to be instead, and what to do.
fn neither_message(head: &[u8], gzip: bool) -> String {
    let what = if head.starts_with(b"PAR1") {
        "a Parquet file; convert it to JSON Lines first (for example with pandas: \
         `pd.read_parquet(f).to_json(out, orient=\"records\", lines=True)`)"
            .to_string()
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd-compressed; decompress it first (`zstd -d FILE`), or recompress it with gzip, \
         which rubricate reads directly"
            .to_string()
    } else if head.starts_with(b"PK\x03\x04") {
        "a zip archive (or a spreadsheet); extract the JSON or JSON Lines file from it first"
            .to_string()
    } else if head.starts_with(b"BZh") || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        "compressed with bzip2 or xz; decompress it first, or recompress it with gzip".to_string()
    } else if head.starts_with(b"SQLite format 3\0") {
        "an SQLite database, not a dataset; to use it as rubricate's database pass it with --db"
            .to_string()
    } else {
        let shown: String = String::from_utf8_lossy(&head[..head.len().min(24)])
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        format!(
            "it starts with {shown:?}, but a JSON Lines file starts with `{{` and a JSON array \
             with `[`"
        )
    };
    format!(
        "this {}is neither JSON Lines nor a JSON array: {what}. rubricate imports JSON Lines \
         (one object per line), JSON arrays of objects (.json, pretty-printed or not), and \
         either one gzip-compressed.",
        if gzip {
            "gzip file's content "
        } else {
            "input "
        }
    )
}

/// A stream of records; see [`open`].
pub struct Records<R> {
    reader: R,
    layout: Layout,
    gzip: bool,
    /// Line of the next unread byte.
    line: u64,
    /// Index of the next array item.
    item: u64,
    /// The array's closing `]` has been read.
    closed: bool,
    done: bool,
}

impl<R: BufRead> Records<R> {
    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Read the next record's text into `buf` (cleared first).
    pub fn next(&mut self, buf: &mut Vec<u8>) -> io::Result<Next> {
        buf.clear();
        if self.done {
            return Ok(Next::End);
        }
        match self.layout {
            Layout::Lines => self.next_line(buf),
            Layout::Array if self.closed => self.after_array(),
            Layout::Array => self.next_item(buf),
        }
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Next> {
        loop {
            buf.clear();
            if self.reader.read_until(b'\n', buf)? == 0 {
                self.done = true;
                return Ok(Next::End);
            }
            let line = self.line;
            self.line += 1;
            while let [.., b'\n' | b'\r'] = buf.as_slice() {
                buf.pop();
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Next::Record(Position { line, item: None }));
            }
        }
    }

    /// Skip blank space, counting lines; the next byte, not consumed.
    fn skip_space(&mut self) -> io::Result<Option<u8>> {
        loop {
            let head = self.reader.fill_buf()?;
            if head.is_empty() {
                return Ok(None);
            }
            match head.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    self.line += head[..i].iter().filter(|&&b| b == b'\n').count() as u64;
                    let b = head[i];
                    self.reader.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = head.len();
                    self.line += head.iter().filter(|&&b| b == b'\n').count() as u64;
                    self.reader.consume(n);
                }
            }
        }
    }

    /// The next item of the array: its bytes up to the `,` or `]` that ends it, found by
    /// tracking strings and nesting (the item itself is parsed by the caller).
    fn next_item(&mut self, buf: &mut Vec<u8>) -> io::Result<Next> {
        let item = self.item;
        match self.skip_space()? {
            None => {
                self.done = true;
                return Ok(Next::Bad(
                    Position {
                        line: self.line,
                        item: Some(item),
                    },
                    LineError::Layout(
                        "the file ends before the JSON array is closed with `]` (is it truncated?)"
                            .into(),
                    ),
                ));
            }
            Some(b']') => {
                self.reader.consume(1);
                if item > 0 {
                    // The previous item ended with a comma.
                    self.closed = true;
                    return Ok(Next::Bad(
                        Position {
                            line: self.line,
                            item: Some(item),
                        },
                        LineError::Layout(
                            "a comma before the closing `]` of the JSON array (JSON allows no \
                             trailing comma)"
                                .into(),
                        ),
                    ));
                }
                return self.after_array();
            }
            Some(_) => {}
        }
        let start = Position {
            line: self.line,
            item: Some(item),
        };
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        loop {
            let head = self.reader.fill_buf()?;
            if head.is_empty() {
                self.done = true;
                return Ok(Next::Bad(
                    start,
                    LineError::Layout(format!(
                        "the file ends inside item {item} (it starts on this line), before the \
                         JSON array is closed with `]`; is the file truncated?"
                    )),
                ));
            }
            let mut end = None;
            for (i, &b) in head.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    if b == b'\n' {
                        // JSON strings cannot hold a raw line break: the string was not
                        // closed. Ending it here keeps the split in step with the next lines,
                        // and the parser then reports the error on this line.
                        in_string = false;
                        escaped = false;
                    } else if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => {
                        end = Some((i, b));
                        break;
                    }
                    _ => {}
                }
            }
            match end {
                None => {
                    let n = head.len();
                    buf.extend_from_slice(head);
                    self.reader.consume(n);
                }
                Some((i, closing)) => {
                    buf.extend_from_slice(&head[..i]);
                    self.reader.consume(i + 1);
                    while let [.., b] = buf.as_slice()
                        && b.is_ascii_whitespace()
                    {
                        buf.pop();
                    }
                    self.item += 1;
                    // After the last item, the next call checks what follows the array.
                    self.closed = closing == b']';
                    if buf.is_empty() {
                        return Ok(Next::Bad(
                            start,
                            LineError::Layout(format!(
                                "item {item} of the JSON array is empty (two commas in a row)"
                            )),
                        ));
                    }
                    return Ok(Next::Record(start));
                }
            }
        }
    }

    /// After the array's closing `]`: only blank space may follow.
    fn after_array(&mut self) -> io::Result<Next> {
        self.done = true;
        match self.skip_space()? {
            None => Ok(Next::End),
            Some(_) => Ok(Next::Bad(
                Position {
                    line: self.line,
                    item: None,
                },
                LineError::Layout(
                    "text after the end of the JSON array; a file holds one array (or one JSON \
                     object per line)"
                        .into(),
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = (Layout, Vec<(Position, Result<String, LineError>)>);

    /// Every record's text and position, or the layout error.
    fn split(input: &[u8]) -> Result<Split, String> {
        let mut records = open(input).unwrap()?;
        let layout = records.layout();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            match records.next(&mut buf).unwrap() {
                Next::End => break,
                Next::Record(pos) => out.push((pos, Ok(String::from_utf8(buf.clone()).unwrap()))),
                Next::Bad(pos, e) => out.push((pos, Err(e))),
            }
        }
        Ok((layout, out))
    }

    fn at(line: u64, item: u64) -> Position {
        Position {
            line,
            item: Some(item),
        }
    }

    #[test]
    fn pretty_printed_array_items_start_on_their_lines() {
        let text = "[\n  {\n    \"a\": \"x, ] } {\\\" [\",\n    \"b\": [1, {\"c\": 2}]\n  },\n  {\"a\": 3}\n]\n";
        let (layout, recs) = split(text.as_bytes()).unwrap();
        assert_eq!(layout, Layout::Array);
        assert_eq!(recs.len(), 2, "{recs:?}");
        assert_eq!(recs[0].0, at(2, 0));
        let first: serde_json::Value = serde_json::from_str(recs[0].1.as_ref().unwrap()).unwrap();
        assert_eq!(first["a"], "x, ] } {\" [");
        assert_eq!(first["b"][1]["c"], 2);
        assert_eq!(recs[1], (at(6, 1), Ok("{\"a\": 3}".to_string())));
    }

    #[test]
    fn compact_array_and_empty_array() {
        let (layout, recs) = split(b"\xef\xbb\xbf[{\"a\":1},{\"a\":2}]").unwrap();
        assert_eq!(layout, Layout::Array);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1], (at(1, 1), Ok("{\"a\":2}".to_string())));
        assert!(split(b"  [ ]  \n").unwrap().1.is_empty());
    }

    #[test]
    fn json_lines_skip_blank_lines_and_keep_line_numbers() {
        let (layout, recs) = split(b"\n{\"a\":1}\r\n\n  \n{\"a\":2}").unwrap();
        assert_eq!(layout, Layout::Lines);
        let lines: Vec<u64> = recs.iter().map(|(p, _)| p.line).collect();
        assert_eq!(lines, vec![2, 5]);
        assert_eq!(recs[0].1, Ok("{\"a\":1}".to_string()));
        assert!(split(b"").unwrap().1.is_empty());
    }

    #[test]
    fn broken_arrays_are_named_by_line() {
        // Truncated inside an item.
        let (_, recs) = split(b"[\n{\"a\": 1},\n{\"a\": ").unwrap();
        assert_eq!(recs.len(), 2);
        assert!(
            matches!(&recs[1], (p, Err(LineError::Layout(m))) if *p == at(3, 1) && m.contains("truncated"))
        );
        // Never closed.
        let (_, recs) = split(b"[{\"a\": 1},\n").unwrap();
        assert!(matches!(&recs[1], (p, Err(LineError::Layout(_))) if p.line == 2));
        // A trailing comma and text after the array.
        let (_, recs) = split(b"[{\"a\": 1},\n]\nxyz").unwrap();
        assert!(
            matches!(&recs[1], (p, Err(LineError::Layout(m))) if p.line == 2 && m.contains("comma"))
        );
        let (_, recs) = split(b"[{\"a\": 1}]\n\nxyz").unwrap();
        assert!(
            matches!(&recs[1], (p, Err(LineError::Layout(m))) if p.line == 3 && m.contains("after the end"))
        );
        // Two commas in a row.
        let (_, recs) = split(b"[{\"a\": 1},,{\"a\": 2}]").unwrap();
        assert!(matches!(&recs[1], (_, Err(LineError::Layout(m))) if m.contains("empty")));
        assert_eq!(recs[2].1, Ok("{\"a\": 2}".to_string()));
    }

    #[test]
    fn gzip_is_read_transparently() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"[\n {\"a\": 1},\n {\"a\": 2}\n]").unwrap();
        let bytes = gz.finish().unwrap();
        let mut records = open(bytes.as_slice()).unwrap().unwrap();
        assert!(records.gzip());
        assert_eq!(records.layout(), Layout::Array);
        let mut buf = Vec::new();
        assert_eq!(records.next(&mut buf).unwrap(), Next::Record(at(2, 0)));
        assert_eq!(records.next(&mut buf).unwrap(), Next::Record(at(3, 1)));
        assert_eq!(records.next(&mut buf).unwrap(), Next::End);
    }

    #[test]
    fn other_inputs_say_what_they_are() {
        let msg = |b: &[u8]| split(b).expect_err("refused");
        assert!(msg(b"PAR1\x00\x00").contains("Parquet"));
        assert!(msg(&[0x28, 0xb5, 0x2f, 0xfd, 0]).contains("zstd"));
        assert!(msg(b"PK\x03\x04rest").contains("zip"));
        let m = msg(b"prompt,chosen,rejected\n");
        assert!(m.contains("neither JSON Lines nor a JSON array"), "{m}");
        assert!(m.contains("\"prompt,chosen"), "{m}");
        // Control characters of the input are not echoed.
        assert!(!msg(b"\x1b[31mred").contains('\x1b'));
    }
}
