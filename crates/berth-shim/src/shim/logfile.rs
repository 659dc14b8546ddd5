//! The `json-file` log driver: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`,
//! byte-compatible with dockerd's (HTML-safe escapes, Go's RFC 3339 with trimmed
//! nanoseconds), with size-based rotation to `<file>.1`, `<file>.2`, ...

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Lines longer than this are split into several records (Docker's 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// Formats a time like Go's `time.RFC3339Nano` in UTC (`...T10:00:00.1Z`).
pub fn rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let nanos = d.subsec_nanos();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Appends `text` as a JSON string body with Go's escaping (`<>&` as `\u003c` etc.).
fn escape_into(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// One json-file record.
pub fn record(line: &[u8], stream: &str, time: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 64);
    out.extend_from_slice(b"{\"log\":\"");
    escape_into(&mut out, &String::from_utf8_lossy(line));
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
    out
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A json-file log being written.
pub struct JsonLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_files: u32,
    /// Bytes of an unfinished line, per stream.
    partial: [Vec<u8>; 2],
}

impl JsonLog {
    /// Opens (appending) or creates the log. `max_size` 0 disables rotation.
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_files: max_files.max(1),
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Logs a chunk of output: complete lines become records now, the rest waits.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        let now = rfc3339_nano(SystemTime::now());
        let mut records = Vec::new();
        let pending = &mut self.partial[stream as usize];
        let mut rest = data;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(i + 1);
            if pending.is_empty() {
                records.push(record(line, stream.name(), &now));
            } else {
                pending.extend_from_slice(line);
                records.push(record(pending, stream.name(), &now));
                pending.clear();
            }
            rest = tail;
        }
        pending.extend_from_slice(rest);
        while pending.len() >= MAX_LINE {
            let chunk: Vec<u8> = pending.drain(..MAX_LINE).collect();
            records.push(record(&chunk, stream.name(), &now));
        }
        self.append(records)
    }

    /// Writes out unfinished lines (at exit).
    pub fn flush_partial(&mut self) -> io::Result<()> {
        let now = rfc3339_nano(SystemTime::now());
        let mut records = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let pending = std::mem::take(&mut self.partial[stream as usize]);
            if !pending.is_empty() {
                records.push(record(&pending, stream.name(), &now));
            }
        }
        self.append(records)
    }

    /// Appends records, one write per run of records that fits the current file;
    /// rotates before a record that would take the file over `max_size` (as dockerd).
    fn append(&mut self, records: Vec<Vec<u8>>) -> io::Result<()> {
        let mut out: Vec<u8> = Vec::new();
        for rec in records {
            let used = self.size + out.len() as u64;
            if self.max_size > 0 && used > 0 && used + rec.len() as u64 > self.max_size {
                self.file.write_all(&out)?;
                out.clear();
                self.rotate()?;
            }
            out.extend_from_slice(&rec);
        }
        self.file.write_all(&out)?;
        self.size += out.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: u32| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        if self.max_files > 1 {
            let _ = std::fs::remove_file(numbered(self.max_files - 1));
            for n in (1..self.max_files - 1).rev() {
                let _ = std::fs::rename(numbered(n), numbered(n + 1));
            }
            std::fs::rename(&self.path, numbered(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_look_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_714_557_600, 123_450_000);
        assert_eq!(rfc3339_nano(t), "2024-05-01T10:00:00.12345Z");
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::new(951_782_400, 1);
        assert_eq!(rfc3339_nano(leap), "2000-02-29T00:00:00.000000001Z");
    }

    #[test]
    fn records_escape_like_docker() {
        let r = record(b"a<b>&\"c\"\\\x01\n", "stdout", "T");
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "{\"log\":\"a\\u003cb\\u003e\\u0026\\\"c\\\"\\\\\\u0001\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_lines_and_keeps_partials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = JsonLog::open(&path, 0, 1).unwrap();
        log.write(Stream::Stdout, b"hel").unwrap();
        log.write(Stream::Stderr, b"err\n").unwrap();
        log.write(Stream::Stdout, b"lo\nwor").unwrap();
        log.flush_partial().unwrap();
        let got = lines(&path);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0]["log"], "err\n");
        assert_eq!(got[0]["stream"], "stderr");
        assert_eq!(got[1]["log"], "hello\n");
        assert_eq!(got[2]["log"], "wor");
        assert!(got[2]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn long_lines_are_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.log");
        let mut log = JsonLog::open(&path, 0, 1).unwrap();
        log.write(Stream::Stdout, &vec![b'x'; MAX_LINE + 10])
            .unwrap();
        log.write(Stream::Stdout, b"\n").unwrap();
        let got = lines(&path);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["log"].as_str().unwrap().len(), MAX_LINE);
        assert_eq!(got[1]["log"].as_str().unwrap().len(), 11);
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let mut log = JsonLog::open(&path, 200, 3).unwrap();
        for i in 0..20 {
            log.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        assert!(path.exists());
        assert!(dir.path().join("r.log.1").exists());
        assert!(dir.path().join("r.log.2").exists());
        assert!(!dir.path().join("r.log.3").exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        let last = lines(&path);
        assert_eq!(last.last().unwrap()["log"], "line 19\n");
    }

    #[test]
    fn one_large_chunk_is_rotated_record_by_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut log = JsonLog::open(&path, 200, 2).unwrap();
        let chunk: String = (0..50).map(|i| format!("line {i}\n")).collect();
        log.write(Stream::Stdout, chunk.as_bytes()).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        assert!(
            std::fs::metadata(dir.path().join("big.log.1"))
                .unwrap()
                .len()
                <= 200
        );
        assert!(!dir.path().join("big.log.2").exists());
        assert_eq!(lines(&path).last().unwrap()["log"], "line 49\n");
    }
}
