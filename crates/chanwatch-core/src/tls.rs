//! Which certificate authorities the client trusts, for the WebSocket and for the HTTP
//! clients alike, and how a refused certificate is told to a person.
//!
//! Trusted: the bundled webpki roots (so a machine without a CA bundle still reaches
//! Pusher), the operating system's store (so a company CA installed there works as it does
//! for a browser), and the PEM file of `--ca-file` (a private CA for a self-hosted server).

use crate::input_file;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The flag that adds a CA, named in every message about an untrusted certificate.
pub const CA_FLAG: &str = "--ca-file";

/// A `--ca-file` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("--ca-file {}: cannot read it: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: crate::input_file::ReadError,
    },
    #[error("--ca-file {}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)", .path.display())]
    NoCertificate { path: PathBuf },
    #[error("--ca-file {}: certificate {index} cannot be used as a CA: {reason}", .path.display())]
    BadCertificate {
        path: PathBuf,
        index: usize,
        reason: String,
    },
}

/// The client TLS configuration: the default trust, plus the CAs in `ca_file` when given.
/// Without a file the configuration is built once per process (reading the system store
/// takes a few milliseconds) and shared.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TrustError> {
    match ca_file {
        None => Ok(default_config()),
        Some(path) => {
            let mut roots = default_roots().clone();
            add_ca_file(&mut roots, path)?;
            Ok(config_with(roots))
        }
    }
}

/// The default trust: webpki roots and the system store.
pub fn default_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| config_with(default_roots().clone()))
        .clone()
}

fn config_with(roots: RootCertStore) -> Arc<rustls::ClientConfig> {
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn default_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // A missing or partly unreadable system store is normal (containers, minimal
        // images): the bundled roots still serve, so this is not worth failing for.
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!("system certificate store: {e}");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "system certificates trusted");
        roots
    })
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TrustError> {
    let pem =
        input_file::read(path, input_file::CA_BUNDLE_CAP).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let mut count = 0;
    for (index, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let bad = |reason: String| TrustError::BadCertificate {
            path: path.to_path_buf(),
            index: index + 1,
            reason,
        };
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
        count += 1;
    }
    if count == 0 {
        return Err(TrustError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// A failed TLS handshake with `at` (`host:port`) in words: what was wrong and, where a flag
/// fixes it, which one.
pub fn describe_failure(at: &str, error: &rustls::Error) -> String {
    format!("TLS handshake with {at} failed: {}", reason(error))
}

/// Why the certificate (or the handshake) was refused, and what to do about it.
pub fn reason(error: &rustls::Error) -> String {
    use rustls::Error as E;
    let untrusted = format!(
        "if the server uses a private CA, pass that CA's certificate with {CA_FLAG} PEM \
         (config key ca_file)"
    );
    match error {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "unknown issuer: the server's certificate is not signed by a CA that is \
                 trusted here (the system's store or the bundled roots); {untrusted}"
            ),
            CertificateError::BadSignature => format!(
                "bad signature: the server's certificate is not validly signed by its issuer; \
                 {untrusted}"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "expired: the server's certificate is past its expiry date (renew it on the \
                 server, or check this machine's clock)"
                    .into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not valid yet: the server's certificate starts later than this machine's \
                 clock says it is now (check the clock)"
                    .into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "name mismatch: the server's certificate is not issued for this host name; \
                 connect with --host set to a name the certificate lists"
                    .into()
            }
            CertificateError::Revoked => "revoked: the server's certificate was revoked".into(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "wrong purpose: the server's certificate is not meant for a TLS server".into()
            }
            other => format!("the server's certificate was refused ({other:?}); {untrusted}"),
        },
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "the server did not answer in TLS: is it a plain ws:// port? (--no-tls)".into()
        }
        E::AlertReceived(alert) => format!("the server refused the handshake ({alert:?})"),
        other => other.to_string(),
    }
}

/// The rustls error somewhere in `error`'s chain, also inside an `io::Error` (where hyper and
/// tokio-rustls put it, and where `source()` does not look).
pub fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_rustls_error(inner))
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_problem_and_the_fix() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let text = describe_failure("127.0.0.1:6001", &unknown);
        assert!(text.starts_with("TLS handshake with 127.0.0.1:6001 failed: unknown issuer"));
        assert!(text.contains("--ca-file"), "{text}");
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(reason(&expired).starts_with("expired"));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(reason(&name).contains("--host"));
    }

    #[test]
    fn finds_the_rustls_error_inside_an_io_error() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert!(matches!(
            find_rustls_error(&io),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ));
        let plain = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(find_rustls_error(&plain).is_none());
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err();
        assert!(matches!(err, TrustError::NoCertificate { .. }), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(
            err.starts_with("--ca-file ") && err.contains("cannot read"),
            "{err}"
        );
    }
}
