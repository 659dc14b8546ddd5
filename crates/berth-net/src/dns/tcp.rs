//! DNS over TCP (what resolvers fall back to after a truncated UDP answer): one short
//! thread per connection, answering locally or relaying to an upstream over TCP.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::message::{self, ParseError};
use super::server::{Listener, Shared};

const IDLE: Duration = Duration::from_secs(10);
const UPSTREAM: Duration = Duration::from_secs(3);

pub(crate) fn serve(mut stream: TcpStream, listener: &Arc<Listener>, shared: &Arc<Shared>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_write_timeout(Some(IDLE));
    while let Ok(packet) = read_frame(&mut stream) {
        let reply = match message::parse_query(&packet) {
            Ok(query) if query.opcode != 0 => message::response(&query, message::RCODE_NOTIMP, &[]),
            Ok(query) => {
                let (networks, forward) = listener.view();
                match shared.local_answer(&listener.container, &networks, &query) {
                    Some(reply) => reply,
                    None if forward => relay(&shared.upstreams_for(&listener.container), &packet)
                        .unwrap_or_else(|| message::response(&query, message::RCODE_SERVFAIL, &[])),
                    None => message::response(&query, message::RCODE_SERVFAIL, &[]),
                }
            }
            Err(ParseError::Malformed { id }) => message::format_error(id),
            Err(_) => return,
        };
        if write_frame(&mut stream, &reply).is_err() {
            return;
        }
    }
}

fn relay(upstreams: &[SocketAddrV4], packet: &[u8]) -> Option<Vec<u8>> {
    for &upstream in upstreams {
        let attempt = || -> io::Result<Vec<u8>> {
            let mut conn = TcpStream::connect_timeout(&SocketAddr::V4(upstream), UPSTREAM)?;
            conn.set_read_timeout(Some(UPSTREAM))?;
            conn.set_write_timeout(Some(UPSTREAM))?;
            write_frame(&mut conn, packet)?;
            read_frame(&mut conn)
        };
        if let Ok(reply) = attempt() {
            return Some(reply);
        }
    }
    None
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut packet = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut packet)?;
    Ok(packet)
}

fn write_frame(stream: &mut TcpStream, packet: &[u8]) -> io::Result<()> {
    let len =
        u16::try_from(packet.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    let mut frame = Vec::with_capacity(packet.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(packet);
    stream.write_all(&frame)
}
