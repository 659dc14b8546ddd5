//! Just enough of the DNS wire format (RFC 1035) for the embedded server: read a query's
//! header and first question, and write answers for A and PTR questions. Everything the
//! server does not answer itself is forwarded as raw bytes, so nothing else is parsed.

use std::net::Ipv4Addr;

pub const TYPE_A: u16 = 1;
pub const TYPE_PTR: u16 = 12;
pub const CLASS_IN: u16 = 1;

pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_FORMERR: u8 = 1;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_NOTIMP: u8 = 4;

/// TTL of answers about containers (Docker's value).
pub const TTL: u32 = 600;

const HEADER_LEN: usize = 12;

/// The parts of a query the server looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub opcode: u8,
    pub recursion_desired: bool,
    /// Lower-case, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// The question section exactly as received (echoed in answers).
    pub question: Vec<u8>,
}

/// Why a packet could not be read as a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not even a header: drop silently.
    Short,
    /// A header but a broken question: answer FORMERR.
    Malformed { id: u16 },
    /// A response, not a query: drop.
    NotQuery,
}

/// Reads the header and the first question of `packet`.
pub fn parse_query(packet: &[u8]) -> Result<Query, ParseError> {
    if packet.len() < HEADER_LEN {
        return Err(ParseError::Short);
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let flags = packet[2];
    if flags & 0x80 != 0 {
        return Err(ParseError::NotQuery);
    }
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    if qdcount == 0 {
        return Err(ParseError::Malformed { id });
    }
    let mut labels: Vec<String> = Vec::new();
    let mut pos = HEADER_LEN;
    loop {
        let len = *packet.get(pos).ok_or(ParseError::Malformed { id })? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        // Compression pointers and extended label types have no place in a question.
        if len & 0xc0 != 0 {
            return Err(ParseError::Malformed { id });
        }
        let label = packet
            .get(pos..pos + len)
            .ok_or(ParseError::Malformed { id })?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
        if pos - HEADER_LEN > 255 {
            return Err(ParseError::Malformed { id });
        }
    }
    let fixed = packet
        .get(pos..pos + 4)
        .ok_or(ParseError::Malformed { id })?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    pos += 4;
    Ok(Query {
        id,
        opcode: (flags >> 3) & 0x0f,
        recursion_desired: flags & 0x01 != 0,
        name: labels.join("."),
        qtype,
        qclass,
        question: packet[HEADER_LEN..pos].to_vec(),
    })
}

/// An answer record the server can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    A(Ipv4Addr),
    Ptr(String),
}

/// Builds a response to `query` with `answers` (all owned by the question's name).
pub fn response(query: &Query, rcode: u8, answers: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + query.question.len() + answers.len() * 32);
    out.extend_from_slice(&query.id.to_be_bytes());
    // QR=1, opcode echoed, AA=0, TC=0, RD echoed; RA=1, rcode.
    out.push(0x80 | (query.opcode << 3) | u8::from(query.recursion_desired));
    out.push(0x80 | (rcode & 0x0f));
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&query.question);
    for answer in answers {
        // The owner name is the question's: a pointer to offset 12.
        out.extend_from_slice(&[0xc0, 0x0c]);
        match answer {
            Record::A(ip) => {
                out.extend_from_slice(&TYPE_A.to_be_bytes());
                out.extend_from_slice(&CLASS_IN.to_be_bytes());
                out.extend_from_slice(&TTL.to_be_bytes());
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(&ip.octets());
            }
            Record::Ptr(name) => {
                let encoded = encode_name(name);
                out.extend_from_slice(&TYPE_PTR.to_be_bytes());
                out.extend_from_slice(&CLASS_IN.to_be_bytes());
                out.extend_from_slice(&TTL.to_be_bytes());
                out.extend_from_slice(&(encoded.len() as u16).to_be_bytes());
                out.extend_from_slice(&encoded);
            }
        }
    }
    out
}

/// A FORMERR answer for a packet whose question could not be read.
pub fn format_error(id: u16) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_LEN];
    out[..2].copy_from_slice(&id.to_be_bytes());
    out[2] = 0x80;
    out[3] = 0x80 | RCODE_FORMERR;
    out
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
    out
}

/// Encodes a complete query (used by tests and by the TCP fallback's callers).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00]);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&encode_name(name));
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// The rcode and the A records of a response (tests and diagnostics).
pub fn parse_a_answers(packet: &[u8]) -> Option<(u8, Vec<Ipv4Addr>)> {
    if packet.len() < HEADER_LEN {
        return None;
    }
    let rcode = packet[3] & 0x0f;
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    let ancount = u16::from_be_bytes([packet[6], packet[7]]);
    let mut pos = HEADER_LEN;
    for _ in 0..qdcount {
        pos = skip_name(packet, pos)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..ancount {
        pos = skip_name(packet, pos)?;
        let fixed = packet.get(pos..pos + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        pos += 10;
        let data = packet.get(pos..pos + rdlen)?;
        if rtype == TYPE_A && rdlen == 4 {
            out.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        pos += rdlen;
    }
    Some((rcode, out))
}

fn skip_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *packet.get(pos)? as usize;
        if len == 0 {
            return Some(pos + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Some(pos + 2);
        }
        pos += 1 + len;
    }
}

/// `4.3.2.1.in-addr.arpa` → 1.2.3.4.
pub fn reverse_ipv4(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let parts: Vec<u8> = rest
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [d, c, b, a] => Some(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let packet = build_query(0x1234, "Web.Example", TYPE_A);
        let query = parse_query(&packet).unwrap();
        assert_eq!(query.id, 0x1234);
        assert_eq!(query.name, "web.example");
        assert_eq!(query.qtype, TYPE_A);
        assert!(query.recursion_desired);
        let answer = response(
            &query,
            RCODE_NOERROR,
            &[Record::A(Ipv4Addr::new(10, 213, 0, 2))],
        );
        let (rcode, ips) = parse_a_answers(&answer).unwrap();
        assert_eq!(rcode, 0);
        assert_eq!(ips, [Ipv4Addr::new(10, 213, 0, 2)]);
        assert_eq!(&answer[..2], &[0x12, 0x34]);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_query(&[1, 2, 3]), Err(ParseError::Short));
        let mut packet = build_query(7, "a", TYPE_A);
        packet[12] = 0xc0;
        assert_eq!(parse_query(&packet), Err(ParseError::Malformed { id: 7 }));
        let mut packet = build_query(7, "a", TYPE_A);
        packet[2] |= 0x80;
        assert_eq!(parse_query(&packet), Err(ParseError::NotQuery));
        packet.truncate(14);
        packet[2] &= 0x7f;
        assert!(matches!(
            parse_query(&packet),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_ipv4("2.0.213.10.in-addr.arpa"),
            Some(Ipv4Addr::new(10, 213, 0, 2))
        );
        assert_eq!(reverse_ipv4("2.0.213.in-addr.arpa"), None);
        let query = parse_query(&build_query(1, "2.0.213.10.in-addr.arpa", TYPE_PTR)).unwrap();
        let answer = response(&query, RCODE_NOERROR, &[Record::Ptr("web.net1".into())]);
        assert!(answer.ends_with(&[3, b'w', b'e', b'b', 4, b'n', b'e', b't', b'1', 0]));
    }
}
