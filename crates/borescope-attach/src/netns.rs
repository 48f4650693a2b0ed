//! Reaching 127.0.0.1 of a process that has its own network namespace (a container): a helper
//! thread enters that namespace (`setns`), connects, and ends; the socket stays connected to
//! the target's loopback while the rest of borescope stays where it was. No port-forward, and
//! nothing listens anywhere but inside the target's namespace.

use crate::Target;
use borescope_inject::procfs::Namespace;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Connects to `address` as seen from inside `pid`'s network namespace.
pub fn connect_in(pid: u32, address: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let path = Namespace::Net.path(pid);
    std::thread::Builder::new()
        .name("borescope-netns".into())
        .spawn(move || {
            let namespace = std::fs::File::open(&path)?;
            nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            TcpStream::connect_timeout(&address, timeout)
        })?
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the namespace helper thread panicked")))
}

/// Explains a connection failure, naming the namespace step when that is what failed.
pub fn explain(target: &Target, error: &std::io::Error) -> String {
    if !target.same_network && error.kind() == std::io::ErrorKind::PermissionDenied {
        return format!(
            "pid {} has its own network namespace, and entering it needs CAP_SYS_ADMIN ({error})\n\
             hint: run borescope as root, or run it inside the container (`docker exec`/`kubectl exec`)",
            target.pid
        );
    }
    error.to_string()
}
