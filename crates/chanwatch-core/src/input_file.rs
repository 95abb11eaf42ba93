//! Files read as configuration or secrets (the config file, `--ca-file`, `--secret-file` and
//! the other `--*-file` options), read with a size cap: such a file is small, and a path
//! like `/dev/zero` or a log file given by mistake must end in a clear error, not in
//! reading until memory runs out.

use std::io::Read;
use std::path::Path;

/// A secret, a key or a header file (`--secret-file`, `--encryption-master-key-file`,
/// `--auth-header-file`, `--user-auth-header-file`).
pub const SECRET_CAP: u64 = 1 << 20;
/// A PEM bundle of CAs (`--ca-file`): the whole Mozilla bundle is about 250 KiB.
pub const CA_BUNDLE_CAP: u64 = 8 << 20;
/// The config file.
pub const CONFIG_CAP: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than {}, the most chanwatch reads from it", size(*.cap))]
    TooLarge { cap: u64 },
    #[error("it is not UTF-8 text")]
    NotText,
}

impl ReadError {
    /// The I/O error's kind, when that is what it was.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            ReadError::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

/// The file's bytes, if it holds at most `cap` of them. Never reads more than `cap + 1`
/// bytes, whatever the file is (a device, a FIFO's endless writer, a huge log).
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> Result<String, ReadError> {
    String::from_utf8(read(path, cap)?).map_err(|_| ReadError::NotText)
}

/// 1 MiB, 4 MiB, or bytes when under a KiB.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file_and_refuses_one_over_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'a'; 1024]).unwrap();
        assert_eq!(read(&path, 1024).unwrap().len(), 1024);
        assert_eq!(read_text(&path, 1024).unwrap(), "a".repeat(1024));
        let e = read(&path, 1023).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { cap: 1023 }), "{e}");
        assert!(e.to_string().contains("larger than 1023 bytes"), "{e}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&path, 10), Err(ReadError::NotText)));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_stops_at_the_cap() {
        let e = read(Path::new("/dev/zero"), SECRET_CAP).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        let e = read_text(Path::new("/dev/zero"), CA_BUNDLE_CAP).unwrap_err();
        assert!(e.to_string().contains("larger than 8 MiB"), "{e}");
    }

    #[test]
    fn a_missing_file_is_an_io_error_with_its_kind() {
        let e = read(Path::new("/nonexistent/chanwatch/file"), SECRET_CAP).unwrap_err();
        assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound));
        assert!(e.to_string().contains("No such file"), "{e}");
    }
}
