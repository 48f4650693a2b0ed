//! Handing a file descriptor to the daemon with a request: the caller's standard input, so a
//! program started by the daemon reads what the caller's shell connected (a pipe, a file,
//! `/dev/null`) exactly as if the caller had started it.
//!
//! The descriptor travels as `SCM_RIGHTS` ancillary data on the first byte of the request
//! line; the daemon reads its first chunk with `recvmsg`, which is the only read that can see
//! it. Every other request travels without ancillary data and is read the same way.

#![allow(unsafe_code)]
// Reason: turning the received descriptor number into an `OwnedFd` is the one unsafe step;
// the kernel has just installed that descriptor in this process for us alone.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::net::UnixStream;

/// Sends the first byte of `bytes` with `fd` attached; returns how many bytes went out (the
/// caller writes the rest normally).
pub async fn send_first_with_fd(stream: &UnixStream, bytes: &[u8], fd: BorrowedFd<'_>) -> std::io::Result<usize> {
    let Some(first) = bytes.get(..1) else {
        return Ok(0);
    };
    let fds = [fd.as_raw_fd()];
    loop {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            let iov = [IoSlice::new(first)];
            let cmsg = [ControlMessage::ScmRights(&fds)];
            sendmsg::<()>(stream.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None).map_err(std::io::Error::from)
        });
        match sent {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads the first chunk of a request, with the descriptor attached to it if there is one.
pub async fn recv_first(stream: &UnixStream) -> std::io::Result<(Vec<u8>, Option<OwnedFd>)> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        stream.readable().await?;
        let received = stream.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            let mut space = nix::cmsg_space!([RawFd; 4]);
            let message = recvmsg::<()>(stream.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
                .map_err(std::io::Error::from)?;
            let mut received: Vec<RawFd> = Vec::new();
            if let Ok(cmsgs) = message.cmsgs() {
                for cmsg in cmsgs {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        received.extend(fds);
                    }
                }
            }
            Ok((message.bytes, received))
        });
        match received {
            Ok((n, fds)) => {
                // SAFETY: each number was installed in this process by this recvmsg (with
                // close-on-exec) and is owned by nobody else yet.
                let mut owned: Vec<OwnedFd> = fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect();
                buffer.truncate(n);
                // Only the first descriptor is used; extra ones are closed when dropped.
                let fd = if owned.is_empty() { None } else { Some(owned.swap_remove(0)) };
                return Ok((buffer, fd));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn a_pipe_travels_with_the_request() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut reader, mut writer) = std::io::pipe().unwrap();
        let sent = send_first_with_fd(&a, b"{\"x\":1}\n", std::os::fd::AsFd::as_fd(&reader)).await.unwrap();
        assert_eq!(sent, 1);
        let (_, mut write) = a.into_split();
        tokio::io::AsyncWriteExt::write_all(&mut write, b"{\"x\":1}\n".get(1..).unwrap()).await.unwrap();
        let (first, fd) = recv_first(&b).await.unwrap();
        assert_eq!(first, b"{");
        let fd = fd.expect("a descriptor");
        writer.write_all(b"typed").unwrap();
        drop(writer);
        let mut text = String::new();
        std::fs::File::from(fd).read_to_string(&mut text).unwrap();
        assert_eq!(text, "typed");
        let _ = reader.read(&mut [0u8; 1]);
    }

    #[tokio::test]
    async fn plain_requests_carry_no_descriptor() {
        let (a, b) = UnixStream::pair().unwrap();
        let (_, mut write) = a.into_split();
        tokio::io::AsyncWriteExt::write_all(&mut write, b"{}\n").await.unwrap();
        let (first, fd) = recv_first(&b).await.unwrap();
        assert_eq!(first, b"{}\n");
        assert!(fd.is_none());
    }
}
