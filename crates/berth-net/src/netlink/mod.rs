//! A small synchronous rtnetlink client: links (bridges, veth pairs), addresses and routes.
//!
//! Why synchronous: every operation is one request and one acknowledgement from the kernel
//! (tens of microseconds), the socket must be usable from a plain thread that has entered a
//! container's namespace, and the engine calls it from blocking tasks anyway. A [`Netlink`]
//! works in the namespace it was opened in ([`Netlink::open`] on the calling thread,
//! [`Netlink::open_in`] for another namespace), whatever thread uses it later.

mod addr;
mod link;
mod route;

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::netns::{NetNs, NetnsError};

pub use addr::InterfaceAddress;
pub use link::{LinkInfo, VethRequest};
pub use route::RouteEntry;

/// A failed netlink operation, naming what was attempted.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("{op}: {source}")]
    Kernel { op: String, source: io::Error },
    #[error("{op}: no such network interface")]
    NoSuchLink { op: String },
    #[error("{op}: unexpected netlink reply: {detail}")]
    Protocol { op: String, detail: String },
    #[error(transparent)]
    Netns(#[from] NetnsError),
}

impl NetlinkError {
    /// The errno the kernel answered with, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            NetlinkError::NoSuchLink { .. } => Some(libc::ENODEV),
            _ => None,
        }
    }

    /// True for "the thing is already there" (EEXIST).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// True for "the thing is not there" (ENODEV, ENOENT, ESRCH: deleting twice is fine).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::ENODEV) | Some(libc::ENOENT) | Some(libc::ESRCH)
        )
    }
}

/// An rtnetlink socket bound to one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

const RECV_BUF: usize = 64 * 1024;

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let op = || "open rtnetlink socket".to_string();
        let mut socket = Socket::new(NETLINK_ROUTE)
            .map_err(|source| NetlinkError::Kernel { op: op(), source })?;
        socket
            .bind_auto()
            .and_then(|_| socket.connect(&SocketAddr::new(0, 0)))
            .map_err(|source| NetlinkError::Kernel { op: op(), source })?;
        // Strict checking makes the kernel honour filters in dump requests.
        let _ = socket.set_netlink_get_strict_chk(true);
        Ok(Netlink {
            socket,
            seq: rand::random::<u32>() >> 1,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Opens a socket inside `ns` (one short thread enters the namespace to create it).
    pub fn open_in(ns: &NetNs) -> Result<Netlink, NetlinkError> {
        ns.run(Netlink::open)?
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> Result<u32, NetlinkError> {
        let seq = self.next_seq();
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket
            .send(&bytes, 0)
            .map_err(|source| NetlinkError::Kernel {
                op: op.to_string(),
                source,
            })?;
        Ok(seq)
    }

    /// Receives one datagram and returns the messages of sequence `seq` in it.
    fn recv_batch(
        &mut self,
        seq: u32,
        op: &str,
    ) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>, NetlinkError> {
        self.buf.clear();
        self.buf.reserve(RECV_BUF);
        let size = self
            .socket
            .recv(&mut self.buf, 0)
            .map_err(|source| NetlinkError::Kernel {
                op: op.to_string(),
                source,
            })?;
        if size > self.buf.len() {
            return Err(NetlinkError::Protocol {
                op: op.to_string(),
                detail: format!("reply of {size} bytes truncated"),
            });
        }
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < self.buf.len() {
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[offset..])
                .map_err(|e| NetlinkError::Protocol {
                op: op.to_string(),
                detail: e.to_string(),
            })?;
            let len = message.header.length as usize;
            if len == 0 {
                break;
            }
            offset += (len + 3) & !3;
            if message.header.sequence_number == seq {
                out.push(message);
            }
        }
        Ok(out)
    }

    /// Sends a request that changes something and waits for the kernel's acknowledgement.
    pub(crate) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        extra_flags: u16,
        op: &str,
    ) -> Result<(), NetlinkError> {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_ACK | extra_flags, op)?;
        loop {
            for reply in self.recv_batch(seq, op)? {
                match reply.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(NetlinkError::Kernel {
                                op: op.to_string(),
                                source: e.to_io(),
                            }),
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    _ => {}
                }
            }
        }
    }

    /// Sends a dump request and collects every message until the end of the dump.
    pub(crate) fn dump(
        &mut self,
        message: RouteNetlinkMessage,
        op: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_DUMP, op)?;
        let mut out = Vec::new();
        loop {
            for reply in self.recv_batch(seq, op)? {
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) if e.code.is_some() => {
                        return Err(NetlinkError::Kernel {
                            op: op.to_string(),
                            source: e.to_io(),
                        })
                    }
                    NetlinkPayload::Error(_) => return Ok(out),
                    _ => {}
                }
            }
        }
    }

    /// Sends a request that answers with exactly one message (a `get` of one object).
    pub(crate) fn get_one(
        &mut self,
        message: RouteNetlinkMessage,
        op: &str,
    ) -> Result<RouteNetlinkMessage, NetlinkError> {
        let seq = self.send(message, NLM_F_REQUEST, op)?;
        loop {
            for reply in self.recv_batch(seq, op)? {
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => return Ok(inner),
                    NetlinkPayload::Error(e) => {
                        return Err(NetlinkError::Kernel {
                            op: op.to_string(),
                            source: e.to_io(),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
}
