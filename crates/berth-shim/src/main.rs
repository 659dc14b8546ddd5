//! `berth-shim`: supervises one container. See the crate README and
//! [`berth_shim::protocol`] for the command line, files and socket protocol.

mod shim;

fn main() {
    std::process::exit(shim::main());
}
