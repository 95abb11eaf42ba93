//! `chanwatch demo`: the demo server, its traffic and the fault proxy started in-process,
//! and a session set up to watch them: no network, no config file, no credentials.

use super::Setup;
use crate::config::DEFAULT_LOG_RING;
use crate::demo::{DemoConfig, DemoHandle, DemoServer, traffic};
use crate::faults::FaultProxy;
use crate::session::DashboardInfo;
use crate::session::Extras;
use anyhow::Context;
use chanwatch_core::auth::{Authorizer, EndpointAuthorizer, LocalUserSigner, UserAuthenticator};
use chanwatch_core::client::{Authorizers, ClientConfig};
use chanwatch_core::connection::{Endpoint, MachineConfig, Transports};
use chanwatch_core::http_api::HttpApi;
use std::sync::Arc;
use std::time::Duration;

/// The demo's user: signed in with `pusher:signin`, and "me" in `presence-lobby`.
pub const DEMO_USER: &str = "you";

/// Demo timings are short so that a cut is detected while the audience still watches:
/// a ping after 10 s of silence, a reconnect 5 s later.
pub fn demo_timings(config: &mut MachineConfig) {
    config.activity_timeout = Duration::from_secs(10);
    config.pong_timeout = Duration::from_secs(5);
    config.unavailable_timeout = Duration::from_secs(10);
    config.retry_cap = Duration::from_secs(5);
    config.handshake_timeout = Duration::from_secs(5);
}

/// Start the demo and describe the session that watches it. Its webhook receiver listens
/// on `webhooks.webhook_listen`, else on a free loopback port.
pub async fn start(webhooks: &crate::cli::webhook::WebhookArgs) -> anyhow::Result<(Setup, Extras)> {
    let server = DemoServer::start(DemoConfig::default())
        .await
        .context("cannot start the demo server on 127.0.0.1")?;
    let proxy = FaultProxy::start(server.addr())
        .await
        .context("cannot start the fault proxy on 127.0.0.1")?;
    let traffic = server.start_traffic();

    let mut endpoint = Endpoint::new("127.0.0.1", server.key());
    endpoint.tls = false;
    endpoint.ws_port = proxy.addr().port();
    endpoint.transports = Transports {
        enabled: Some(vec!["ws".into()]),
        disabled: vec![],
    };
    let mut machine = MachineConfig::new(endpoint);
    demo_timings(&mut machine);
    machine.seed = rand::random();
    machine.signin = true;

    // Authorize through the demo's own endpoint, as an app's backend would: it also hands
    // out the shared_secret of the encrypted channel. It is reached directly, not through
    // the proxy, so a network fault cuts the socket and not the auth.
    let params = vec![
        ("user_id".to_string(), DEMO_USER.to_string()),
        (
            "user_info".to_string(),
            r#"{"name":"You (chanwatch)"}"#.to_string(),
        ),
    ];
    let channel = EndpointAuthorizer::new(
        &server.auth_endpoint(),
        params,
        Vec::new(),
        Duration::from_secs(5),
    )
    .map_err(anyhow::Error::msg)?;
    let user = LocalUserSigner::new(
        server.key(),
        server.secret(),
        format!(r#"{{"id":"{DEMO_USER}","name":"You (chanwatch)"}}"#),
    )
    .map_err(anyhow::Error::msg)?;
    let api = HttpApi::new(
        server.http_url(),
        server.app_id(),
        server.key(),
        server.secret(),
    );
    let setup = Setup {
        client: ClientConfig {
            machine,
            subscribe: traffic::CHANNELS.iter().map(|c| c.to_string()).collect(),
            auto_connect: true,
            connect_via: None,
            dial: Default::default(),
            panic_once_connected: crate::panic_report::debug_panic_requested(),
        },
        auth: Arc::new(Authorizers {
            channel: Authorizer::Endpoint(channel),
            user: Some(UserAuthenticator::Local(user)),
        }),
        api: Some(api.clone()),
        dashboard: DashboardInfo {
            nodes: Vec::new(),
            host: format!("demo server {} via fault proxy", server.addr()),
            key: server.key().to_string(),
            tls: false,
            demo: true,
        },
        log_ring: DEFAULT_LOG_RING,
        log_bytes: crate::config::DEFAULT_LOG_BYTES,
        prefs: Default::default(),
        measures: Default::default(),
        webhooks: Some(demo_webhooks(webhooks, &server)?),
    };
    let extras = Extras {
        proxy: Some(proxy),
        demo: Some(server),
        traffic: Some(traffic),
        api: Some(api),
        measures: Default::default(),
        webhooks: None,
    };
    Ok((setup, extras))
}

/// The demo's webhook receiver: where the flags say, else on a free loopback port, checked
/// with the demo app's key and secret.
fn demo_webhooks(
    webhooks: &crate::cli::webhook::WebhookArgs,
    server: &DemoHandle,
) -> anyhow::Result<crate::webhook_server::Options> {
    Ok(crate::webhook_server::Options {
        listen: webhooks
            .webhook_listen
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        path: webhooks
            .webhook_path
            .clone()
            .unwrap_or_else(|| crate::webhook_server::DEFAULT_PATH.to_string()),
        forward: match &webhooks.webhook_forward {
            Some(url) => Some(
                crate::config::webhook::parse_forward(url)
                    .map_err(|e| anyhow::anyhow!("--webhook-forward: {e}"))?,
            ),
            None => None,
        },
        app: crate::webhook::App {
            key: server.key().to_string(),
            secret: server.secret().to_string(),
        },
    })
}
