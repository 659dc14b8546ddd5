//! The nftables rule that sends a container's DNS traffic for 127.0.0.11:53 to the
//! server's real sockets on 127.0.0.11:<random port>, so port 53 stays free for the
//! container's own programs (a DNS server binding 0.0.0.0:53 works, as with Docker).
//!
//! Docker installs the equivalent with iptables inside every container's namespace, which
//! costs an `iptables-restore` process per start. Here it is one nf_tables netlink batch
//! (tens of microseconds), written by hand: a table `berth-dns` with a nat chain on the
//! output hook and, per protocol, the rule
//! `ip daddr 127.0.0.11 <proto> dport 53 dnat to 127.0.0.11:<port>`.
//! Replies need no rule: conntrack undoes the DNAT.
//!
//! Must run on a thread inside the container's namespace (see [`crate::NetNs::run`]).

use std::io;
use std::net::Ipv4Addr;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_DELRULE: u16 = 8;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;

const NFPROTO_IPV4: u8 = 2;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_IP_PRI_NAT_DST: i32 = -100;

// Attribute numbers from linux/netfilter/nf_tables.h.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;

const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CMP_EQ: u32 = 0;
const NFT_META_L4PROTO: u32 = 16;
const NFT_NAT_DNAT: u32 = 1;

const TABLE: &str = "berth-dns";
const CHAIN: &str = "output";

/// Installs (or replaces) the redirect of `addr:53` to `addr:udp_port` (UDP) and
/// `addr:tcp_port` (TCP) in the calling thread's network namespace.
pub fn install(addr: Ipv4Addr, udp_port: u16, tcp_port: u16) -> io::Result<()> {
    let mut batch = Batch::default();
    batch.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, |_| {});
    let create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
    batch.nft(NFT_MSG_NEWTABLE, create, |b| {
        b.string(NFTA_TABLE_NAME, TABLE)
    });
    batch.nft(NFT_MSG_NEWCHAIN, create, |b| {
        b.string(NFTA_CHAIN_TABLE, TABLE);
        b.string(NFTA_CHAIN_NAME, CHAIN);
        b.nested(NFTA_CHAIN_HOOK, |b| {
            b.u32(NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
            b.u32(NFTA_HOOK_PRIORITY, NF_IP_PRI_NAT_DST as u32);
        });
        b.string(NFTA_CHAIN_TYPE, "nat");
    });
    // Without a handle, DELRULE empties the chain: a re-install replaces old ports.
    batch.nft(NFT_MSG_DELRULE, NLM_F_REQUEST | NLM_F_ACK, |b| {
        b.string(NFTA_RULE_TABLE, TABLE);
        b.string(NFTA_RULE_CHAIN, CHAIN);
    });
    for (protocol, port) in [
        (libc::IPPROTO_UDP as u8, udp_port),
        (libc::IPPROTO_TCP as u8, tcp_port),
    ] {
        batch.nft(NFT_MSG_NEWRULE, create | NLM_F_APPEND, |b| {
            b.string(NFTA_RULE_TABLE, TABLE);
            b.string(NFTA_RULE_CHAIN, CHAIN);
            b.nested(NFTA_RULE_EXPRESSIONS, |b| {
                dnat_rule(b, addr, protocol, port)
            });
        });
    }
    batch.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, |_| {});
    batch.send()
}

/// `ip daddr ADDR; meta l4proto PROTO; th dport 53; dnat to ADDR:PORT`.
fn dnat_rule(b: &mut Attrs<'_>, addr: Ipv4Addr, protocol: u8, port: u16) {
    expression(b, "payload", |b| {
        b.u32(NFTA_PAYLOAD_DREG, NFT_REG_1);
        b.u32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        b.u32(NFTA_PAYLOAD_OFFSET, 16); // IPv4 destination address
        b.u32(NFTA_PAYLOAD_LEN, 4);
    });
    compare(b, &addr.octets());
    expression(b, "meta", |b| {
        b.u32(NFTA_META_DREG, NFT_REG_1);
        b.u32(NFTA_META_KEY, NFT_META_L4PROTO);
    });
    compare(b, &[protocol]);
    expression(b, "payload", |b| {
        b.u32(NFTA_PAYLOAD_DREG, NFT_REG_1);
        b.u32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
        b.u32(NFTA_PAYLOAD_OFFSET, 2); // destination port, same place in UDP and TCP
        b.u32(NFTA_PAYLOAD_LEN, 2);
    });
    compare(b, &53u16.to_be_bytes());
    immediate(b, NFT_REG_1, &addr.octets());
    immediate(b, NFT_REG_2, &port.to_be_bytes());
    expression(b, "nat", |b| {
        b.u32(NFTA_NAT_TYPE, NFT_NAT_DNAT);
        b.u32(NFTA_NAT_FAMILY, u32::from(NFPROTO_IPV4));
        b.u32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
        b.u32(NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
    });
}

fn expression(b: &mut Attrs<'_>, name: &str, data: impl FnOnce(&mut Attrs<'_>)) {
    b.nested(NFTA_LIST_ELEM, |b| {
        b.string(NFTA_EXPR_NAME, name);
        b.nested(NFTA_EXPR_DATA, data);
    });
}

fn compare(b: &mut Attrs<'_>, value: &[u8]) {
    expression(b, "cmp", |b| {
        b.u32(NFTA_CMP_SREG, NFT_REG_1);
        b.u32(NFTA_CMP_OP, NFT_CMP_EQ);
        b.nested(NFTA_CMP_DATA, |b| b.bytes(NFTA_DATA_VALUE, value));
    });
}

fn immediate(b: &mut Attrs<'_>, register: u32, value: &[u8]) {
    expression(b, "immediate", |b| {
        b.u32(NFTA_IMMEDIATE_DREG, register);
        b.nested(NFTA_IMMEDIATE_DATA, |b| b.bytes(NFTA_DATA_VALUE, value));
    });
}

/// Attribute writer over a message buffer (netlink attributes: host-order header, values
/// padded to 4 bytes; nf_tables integers are big-endian).
struct Attrs<'a> {
    buf: &'a mut Vec<u8>,
}

impl Attrs<'_> {
    fn bytes(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn string(&mut self, kind: u16, value: &str) {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.bytes(kind, &bytes);
    }

    fn u32(&mut self, kind: u16, value: u32) {
        self.bytes(kind, &value.to_be_bytes());
    }

    fn nested(&mut self, kind: u16, body: impl FnOnce(&mut Attrs<'_>)) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        body(&mut Attrs { buf: self.buf });
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self.buf[start + 2..start + 4].copy_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
}

#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    seq: u32,
    /// Sequence numbers of the messages that asked for an acknowledgement.
    acked: Vec<u32>,
}

impl Batch {
    /// Appends one netlink message: header, nfgenmsg, attributes.
    fn message(&mut self, kind: u16, flags: u16, family: u8, body: impl FnOnce(&mut Attrs<'_>)) {
        self.seq += 1;
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 16]);
        // nfgenmsg: family, version, res_id (big-endian; the subsystem for batch markers).
        let res_id = if kind == NFNL_MSG_BATCH_BEGIN || kind == NFNL_MSG_BATCH_END {
            NFNL_SUBSYS_NFTABLES
        } else {
            0
        };
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        body(&mut Attrs { buf: &mut self.buf });
        let len = (self.buf.len() - start) as u32;
        let header = &mut self.buf[start..start + 16];
        header[0..4].copy_from_slice(&len.to_ne_bytes());
        header[4..6].copy_from_slice(&kind.to_ne_bytes());
        header[6..8].copy_from_slice(&flags.to_ne_bytes());
        header[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        if flags & NLM_F_ACK != 0 {
            self.acked.push(self.seq);
        }
    }

    fn nft(&mut self, message: u16, flags: u16, body: impl FnOnce(&mut Attrs<'_>)) {
        self.message(
            (NFNL_SUBSYS_NFTABLES << 8) | message,
            flags,
            NFPROTO_IPV4,
            body,
        );
    }

    /// Sends the batch and waits for every acknowledgement (the first error wins).
    fn send(self) -> io::Result<()> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        let timeout = libc::timeval {
            tv_sec: 2,
            tv_usec: 0,
        };
        // SAFETY: sets SO_RCVTIMEO from a valid timeval on an open socket.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        socket.send(&self.buf, 0)?;
        let mut pending = self.acked;
        let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
        while !pending.is_empty() {
            buf.clear();
            let len = socket.recv(&mut buf, 0)?;
            let mut offset = 0;
            while offset + 16 <= len.min(buf.len()) {
                let header = &buf[offset..];
                let msg_len = u32::from_ne_bytes(header[0..4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(header[4..6].try_into().unwrap());
                let seq = u32::from_ne_bytes(header[8..12].try_into().unwrap());
                if msg_len < 16 {
                    break;
                }
                if kind == NLMSG_ERROR && msg_len >= 20 {
                    let code = i32::from_ne_bytes(header[16..20].try_into().unwrap());
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    pending.retain(|s| *s != seq);
                }
                offset += (msg_len + 3) & !3;
            }
        }
        Ok(())
    }
}
