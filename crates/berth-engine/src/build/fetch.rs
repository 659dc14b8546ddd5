//! `ADD http://...`: a plain HTTP/1.1 GET (no TLS: the daemon has no business fetching
//! from the internet in this deployment; `https` URLs are refused with a clear message).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` into `target`; returns the content's sha256 and the file name the
/// URL suggests.
pub(crate) fn download(url: &str, target: &Path) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("cannot download {url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let fail = |e: std::io::Error| format!("failed to download {url}: {e}");
    let mut stream = TcpStream::connect(&address).map_err(fail)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
    // One write: a server that answers after its first read sees the whole request.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: berth-builder\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(fail)?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(fail)?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("failed to download {url}: bad response {status:?}"))?;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(fail)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
    }
    if !(200..300).contains(&code) {
        return Err(format!(
            "failed to GET {url} with status {}",
            status
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let mut file = std::fs::File::create(target).map_err(fail)?;
    let mut hasher = Sha256::new();
    let mut sink = HashWriter {
        file: &mut file,
        hasher: &mut hasher,
    };
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).map_err(fail)?;
            let size = u64::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| format!("failed to download {url}: bad chunk size"))?;
            if size == 0 {
                break;
            }
            std::io::copy(&mut (&mut reader).take(size), &mut sink).map_err(fail)?;
            let mut crlf = String::new();
            reader.read_line(&mut crlf).map_err(fail)?;
        }
    } else {
        match length {
            Some(n) => {
                let copied = std::io::copy(&mut (&mut reader).take(n), &mut sink).map_err(fail)?;
                if copied != n {
                    return Err(format!("failed to download {url}: connection closed early"));
                }
            }
            None => {
                std::io::copy(&mut reader, &mut sink).map_err(fail)?;
            }
        }
    }
    let name = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string();
    Ok((hex::encode(hasher.finalize()), name))
}

struct HashWriter<'a> {
    file: &'a mut std::fs::File,
    hasher: &'a mut Sha256,
}

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
