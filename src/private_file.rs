//! Opening the files chanwatch writes for its user (`--record`, `--log-file`, the dashboard's
//! exports): they may hold private events and auth exchanges, so they are the owner's alone.
//!
//! Two ways a plain `OpenOptions::open` gets that wrong: it follows a symbolic link at the
//! path, writing (and truncating) whatever the link points to, perhaps a file someone else
//! planted the link for; and its mode applies only when it creates the file, so an existing
//! file readable by all stays so. Here the last component of the path must not be a link
//! (`O_NOFOLLOW`), and the opened file is set to 0600 whether it is new or not.

use std::fs::File;
use std::io;
use std::path::Path;

/// What happens to a file that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Emptied first (a recording, an export).
    Truncate,
    /// Written after its end (a log file).
    Append,
}

/// Why a path was refused before anything was written to it. It travels inside the
/// `io::Error` [`open`] returns, so callers keep their I/O error types and may still match
/// on it (`error.get_ref()` and `downcast_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "it is a symbolic link, which chanwatch does not follow for the files it writes \
         (remove the link or choose another path)"
    )]
    Symlink,
    #[error("it is not a regular file (a directory, device, pipe or socket)")]
    NotRegular,
}

/// The refusal inside `error`, if it is one of [`open`]'s.
pub fn refusal(error: &io::Error) -> Option<Refused> {
    error.get_ref()?.downcast_ref::<Refused>().copied()
}

/// Open `path` for writing, creating it if needed, owner-only (0600) whether new or not.
/// A symbolic link at `path` and anything but a regular file are refused ([`Refused`]).
#[cfg(unix)]
pub fn open(path: &Path, existing: Existing) -> io::Result<File> {
    use rustix::fs::{FileType, Mode, OFlags};
    // NONBLOCK: opening a FIFO for writing would otherwise wait for a reader; it has no
    // effect on a regular file, the only kind kept.
    let mut flags = OFlags::WRONLY
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::NOCTTY
        | OFlags::NONBLOCK;
    flags |= match existing {
        Existing::Truncate => OFlags::TRUNC,
        Existing::Append => OFlags::APPEND,
    };
    let fd = match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => fd,
        Err(e) => return Err(refused_open(path, e)),
    };
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(io::Error::other(Refused::NotRegular));
    }
    // The mode given to open applies only to a file it creates.
    if stat.st_mode & 0o7777 != 0o600 {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))?;
    }
    Ok(File::from(fd))
}

/// The error of a failed open, worded as a refusal when the path is what made it fail.
/// ELOOP is also a loop of links further up the path, and ENXIO a device without its
/// driver: the path itself is looked at before saying so.
#[cfg(unix)]
fn refused_open(path: &Path, e: rustix::io::Errno) -> io::Error {
    use rustix::io::Errno;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return e.into();
    };
    let kind = meta.file_type();
    match e {
        Errno::LOOP if kind.is_symlink() => io::Error::other(Refused::Symlink),
        // A FIFO without a reader (NONBLOCK), a socket, a directory.
        Errno::NXIO | Errno::OPNOTSUPP | Errno::ISDIR if !kind.is_file() && !kind.is_symlink() => {
            io::Error::other(Refused::NotRegular)
        }
        e => e.into(),
    }
}

/// Elsewhere: no links to refuse, no modes to set.
#[cfg(not(unix))]
pub fn open(path: &Path, existing: Existing) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    match existing {
        Existing::Truncate => options.truncate(true),
        Existing::Append => options.append(true),
    };
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_file_is_the_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.ndjson");
        open(&path, Existing::Truncate).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn an_existing_file_ends_up_0600_truncated_or_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        for (existing, expected) in [
            (Existing::Truncate, "new\n"),
            (Existing::Append, "old\nnew\n"),
        ] {
            let path = dir.path().join(format!("{existing:?}"));
            std::fs::write(&path, "old\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let mut file = open(&path, existing).unwrap();
            file.write_all(b"new\n").unwrap();
            assert_eq!(mode(&path), 0o600, "{existing:?}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        }
    }

    #[test]
    fn a_symlink_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep me").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // A dangling link too: following it would create the file it names.
        let dangling = dir.path().join("dangling");
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
        for existing in [Existing::Truncate, Existing::Append] {
            for path in [&link, &dangling] {
                let e = open(path, existing).unwrap_err();
                assert_eq!(refusal(&e), Some(Refused::Symlink), "{e}");
                assert!(e.to_string().contains("symbolic link"), "{e}");
            }
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(mode(&target), 0o644);
        assert!(!nowhere.exists());
    }

    #[test]
    fn what_is_not_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), Existing::Append).unwrap_err();
        assert_eq!(refusal(&e), Some(Refused::NotRegular), "{e}");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // With no reader this would block without NONBLOCK; here it fails at once.
        let e = open(&fifo, Existing::Append).unwrap_err();
        assert_eq!(refusal(&e), Some(Refused::NotRegular), "{e}");
        assert_eq!(mode(&fifo), 0o644);
    }
}
