//! The netlink layer on its own: links made on the host side, moved into a namespace by
//! file descriptor, renamed and reconfigured there.

mod common;

use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use berth_net::netlink::{Netlink, VethRequest};
use berth_net::{MacAddr, NetNs, Subnet};
use common::{in_host, skip, Ns};

#[test]
fn move_rename_configure_and_delete_links() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let mut host = Netlink::open().unwrap();
        host.create_veth(&VethRequest {
            host_name: "btva",
            peer_name: "btvb",
            peer_netns: None,
            peer_mac: None,
            mtu: Some(1400),
            master: None,
            host_up: false,
        })
        .unwrap();
        let err = host.create_bridge("btva", None, None).unwrap_err();
        assert!(err.is_exists(), "{err}");
        assert!(
            err.to_string().contains("create bridge btva"),
            "errors name the step: {err}"
        );

        // Move one end into a container namespace, opened by path like /run/netns/NAME.
        let c = Ns::new("c");
        let by_path = NetNs::open(c.path()).unwrap();
        let index = host.link_index("btvb").unwrap();
        host.move_to_netns(index, by_path.as_fd()).unwrap();
        assert!(host.link_by_name("btvb").unwrap().is_none());

        let mut inside = Netlink::open_in(&by_path).unwrap();
        let index = inside.link_index("btvb").unwrap();
        inside.rename(index, "eth7").unwrap();
        let mac: MacAddr = "02:42:0a:d5:46:02".parse().unwrap();
        inside.set_mac(index, mac).unwrap();
        inside.set_mtu(index, 1300).unwrap();
        inside.set_up(index, true).unwrap();
        inside
            .add_address(index, Ipv4Addr::new(10, 213, 70, 2), 24)
            .unwrap();
        inside
            .add_address(index, Ipv4Addr::new(10, 213, 70, 2), 24)
            .unwrap(); // already there: fine
        inside
            .add_route(
                Subnet::new(Ipv4Addr::new(10, 213, 71, 0), 24).unwrap(),
                None,
                index,
            )
            .unwrap();
        let link = inside.link_by_name("eth7").unwrap().unwrap();
        assert_eq!((link.mac, link.mtu, link.up), (Some(mac), 1300, true));
        assert_eq!(link.kind.as_deref(), Some("veth"));
        let addresses = inside.addresses(Some(index)).unwrap();
        assert_eq!(addresses.len(), 1);
        assert!(inside
            .routes()
            .unwrap()
            .iter()
            .any(|r| r.destination.to_string() == "10.213.71.0/24" && r.oif == Some(index)));
        inside.set_up(index, false).unwrap();
        assert!(!inside.link_by_name("eth7").unwrap().unwrap().up);
        inside
            .delete_address(index, Ipv4Addr::new(10, 213, 70, 2), 24)
            .unwrap();
        assert!(inside.addresses(Some(index)).unwrap().is_empty());

        // Deleting one end deletes the pair; deleting twice is not an error.
        assert!(host.delete_link("btva").unwrap());
        assert!(!host.delete_link("btva").unwrap());
        assert!(inside.link_by_name("eth7").unwrap().is_none());
    });
}
