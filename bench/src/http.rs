//! Minimal raw HTTP/1.1 over unix or TCP sockets: what a client pays per request, without
//! a client library in the way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a daemon listens.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl Endpoint {
    /// `unix:///path` or `tcp://host:port` (also `http://`).
    pub fn parse(host: &str) -> Option<Endpoint> {
        if let Some(path) = host.strip_prefix("unix://") {
            return (!path.is_empty()).then(|| Endpoint::Unix(PathBuf::from(path)));
        }
        let rest = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))?
            .trim_end_matches('/');
        let addr = if rest.contains(':') {
            rest.to_string()
        } else {
            format!("{rest}:2375")
        };
        Some(Endpoint::Tcp(addr))
    }

    pub fn display(&self) -> String {
        match self {
            Endpoint::Unix(path) => format!("unix://{}", path.display()),
            Endpoint::Tcp(addr) => format!("tcp://{addr}"),
        }
    }

    fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Endpoint::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(TIMEOUT))?;
                Box::new(s)
            }
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr)?;
                s.set_read_timeout(Some(TIMEOUT))?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
        })
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// One request on a fresh connection (`Connection: close`), as the docker CLI does per
/// command. Returns the status code and the body.
pub fn request_once(endpoint: &Endpoint, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    request(endpoint, "GET", path, None)
}

/// Any method on a fresh connection (`Connection: close`), with an optional JSON body.
/// Returns the status code and the body.
pub fn request(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    json: Option<&[u8]>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = endpoint.connect()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: api\r\nUser-Agent: berth-bench\r\nConnection: close\r\n"
    );
    match json {
        Some(body) => head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )),
        None if method == "GET" => head.push_str("\r\n"),
        None => head.push_str("Content-Length: 0\r\n\r\n"),
    }
    let mut message = head.into_bytes();
    message.extend_from_slice(json.unwrap_or_default());
    stream.write_all(&message)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    read_response(&mut reader)
}

/// A kept-alive connection, as SDKs (docker-py, compose) use.
pub struct KeepAlive {
    reader: BufReader<Box<dyn Stream>>,
}

impl KeepAlive {
    pub fn open(endpoint: &Endpoint) -> std::io::Result<KeepAlive> {
        Ok(KeepAlive {
            reader: BufReader::new(endpoint.connect()?),
        })
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let stream = self.reader.get_mut();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: api\r\nUser-Agent: berth-bench\r\n\r\n"
        )?;
        stream.flush()?;
        read_response(&mut self.reader)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one response: Content-Length or chunked bodies, or to EOF.
fn read_response(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.trim().eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                reader.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lengths_and_chunks() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        assert_eq!(read_response(&mut reader).unwrap(), (200, b"OK".to_vec()));
        assert_eq!(read_response(&mut reader).unwrap(), (404, b"abc".to_vec()));
    }

    #[test]
    fn endpoints() {
        assert!(matches!(
            Endpoint::parse("unix:///x.sock"),
            Some(Endpoint::Unix(_))
        ));
        assert!(
            matches!(Endpoint::parse("tcp://1.2.3.4"), Some(Endpoint::Tcp(a)) if a == "1.2.3.4:2375")
        );
        assert!(Endpoint::parse("ssh://x").is_none());
    }
}
