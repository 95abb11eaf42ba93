//! Handshake headers against a real sockudo whose app accepts only one origin: without
//! `--origin` the connection is refused and the message says which flag fixes it; with it
//! the client connects and subscribes.
//!
//! Needs sockudo installed: `scripts/install-sockudo.sh`.

use crate::support::headless::{Headless, sockudo_args};
use crate::support::sockudo::Sockudo;

const ALLOWED: &str = "https://app.example.com";

fn origin_locked() -> Sockudo {
    // sockudo 5.2 reads the default app's allow-list from this variable (comma-separated).
    Sockudo::start_with(&[("SOCKUDO_DEFAULT_APP_ALLOWED_ORIGINS", ALLOWED)])
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn without_origin_the_refusal_names_the_flag() {
    let server = origin_locked();
    let mut c = Headless::spawn("no-origin", &sockudo_args(server.port(), &["-s", "news"]));
    let error = c
        .wait_for("the origin refusal", |r| {
            r["type"] == "error" && r["code"] == 4009
        })
        .await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("Origin not allowed") && message.contains("--origin"),
        "{message}"
    );
    let state = c.wait_state("disconnected").await;
    assert!(
        state["cause"].as_str().unwrap().contains("--origin"),
        "{state}"
    );
    c.quit().await;
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn with_origin_and_extra_headers_it_connects() {
    let server = origin_locked();
    let mut c = Headless::spawn(
        "origin",
        &sockudo_args(
            server.port(),
            &[
                // A path and a trailing slash are dropped: the origin sent is the allowed one.
                "--origin",
                "https://app.example.com/",
                "--ws-header",
                "X-Proxy-Token: t0k",
                "-s",
                "news",
            ],
        ),
    );
    c.wait_state("connected").await;
    c.wait_channel("subscribed", "news").await;
    assert!(
        !c.seen().iter().any(|r| r["type"] == "error"),
        "{:?}",
        c.seen()
    );
    c.quit().await;
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn a_wrong_origin_is_refused_too() {
    let server = origin_locked();
    let mut c = Headless::spawn(
        "wrong-origin",
        &sockudo_args(server.port(), &["--origin", "https://evil.example.com"]),
    );
    let error = c
        .wait_for("the origin refusal", |r| r["type"] == "error")
        .await;
    assert_eq!(error["code"], 4009, "{error}");
    c.quit().await;
}
