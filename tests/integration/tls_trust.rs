//! TLS trust with a CA made up for the test: `wss://`, an https auth endpoint and the HTTP
//! API connect when `--ca-file` names the CA, and fail without it with a message that names
//! the host, the reason in words and the flag.

use crate::support::headless::Headless;
use crate::support::tls_server::{self, Pki};
use chanwatch_core::auth::EndpointAuthorizer;
use chanwatch_core::connection::AuthRequest;
use chanwatch_core::http_api::HttpApi;
use std::time::Duration;

fn wss_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--tls",
        "--host",
        "127.0.0.1",
        "--wss-port",
        &port.to_string(),
        "--key",
        "k",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn wss_connects_with_the_ca_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.write_ca(dir.path());
    let server = tls_server::pusher_wss(&pki).await;
    let mut c = Headless::spawn(
        "with-ca",
        &wss_args(server.port, &["--ca-file", ca.to_str().unwrap()]),
    );
    let connected = c.wait_state("connected").await;
    assert!(connected["socket_id"].is_string(), "{connected}");
    c.quit().await;
}

#[tokio::test]
async fn wss_without_the_ca_file_says_unknown_issuer_and_names_the_flag() {
    let pki = Pki::new();
    let server = tls_server::pusher_wss(&pki).await;
    let mut c = Headless::spawn("without-ca", &wss_args(server.port, &[]));
    let error = c.wait_for("a TLS error", |r| r["type"] == "error").await;
    let message = error["message"].as_str().unwrap();
    let expected_start = format!(
        "TLS handshake with 127.0.0.1:{} failed: unknown issuer",
        server.port
    );
    assert!(message.contains(&expected_start), "{message}");
    assert!(message.contains("--ca-file"), "{message}");
    assert!(
        !c.seen().iter().any(|r| r["current"] == "connected"),
        "{:?}",
        c.seen()
    );
    c.quit().await;
}

#[tokio::test]
async fn a_ca_file_without_certificates_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "no certificate here\n").unwrap();
    let out = crate::support::isolated::chanwatch()
        .args(wss_args(1, &["--ca-file", bad.to_str().unwrap()]))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--ca-file") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_auth_endpoint_and_the_http_api_trust_the_ca_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.write_ca(dir.path());
    let trust = chanwatch_core::tls::client_config(Some(&ca)).unwrap();

    let grant = r#"{"auth":"k:abc"}"#.to_string();
    let auth = tls_server::https_json(&pki, grant).await;
    let url = format!("https://127.0.0.1:{}/auth", auth.port);
    let req = AuthRequest {
        channel: "private-a".into(),
        socket_id: "1.2".into(),
    };
    let untrusted = EndpointAuthorizer::new(&url, vec![], vec![], Duration::from_secs(10)).unwrap();
    let failure = untrusted.authorize(&req).await.unwrap_err();
    assert!(
        failure
            .message
            .contains("TLS handshake with 127.0.0.1 failed: unknown issuer")
            && failure.message.contains("--ca-file"),
        "{failure:?}"
    );
    let trusted = untrusted.with_tls(trust.clone()).unwrap();
    assert_eq!(trusted.authorize(&req).await.unwrap().auth, "k:abc");

    let api = tls_server::https_json(&pki, r#"{"channels":{"news":{}}}"#.into()).await;
    let base = format!("https://127.0.0.1:{}", api.port);
    let untrusted = HttpApi::new(base.clone(), "1", "k", "s");
    let err = untrusted.channels(None).await.unwrap_err().to_string();
    assert!(
        err.contains("unknown issuer") && err.contains("--ca-file"),
        "{err}"
    );
    let channels = untrusted.with_tls(trust).channels(None).await.unwrap();
    assert!(channels["channels"].get("news").is_some(), "{channels}");
}
