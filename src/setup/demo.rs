//! `chanwatch demo`: the demo server, its traffic and the fault proxy started in-process,
//! and a session set up to watch them: no network, no config file, no credentials.
//! `chanwatch demo --nodes N`: a demo cluster of N nodes and one connection to each.

use super::Setup;
use crate::config::DEFAULT_LOG_RING;
use crate::demo::{App, DemoCluster, DemoConfig, DemoHandle, DemoServer, MAX_NODES, traffic};
use crate::faults::FaultProxy;
use crate::session::DashboardInfo;
use crate::session::Extras;
use crate::session::cluster::{self, Node};
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
    let auth = demo_authorizers(&server, DEMO_USER, "You (chanwatch)")?;
    let api = HttpApi::new(
        server.http_url(),
        server.app_id(),
        server.key(),
        server.secret(),
    );
    let setup = Setup {
        client: demo_client(
            machine,
            traffic::CHANNELS.iter().map(|c| c.to_string()).collect(),
        ),
        auth,
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
        webhooks: Some(demo_webhooks(webhooks, &server.app())?),
        nodes: Vec::new(),
        ghost_after: crate::config::DEFAULT_GHOST_AFTER,
    };
    let extras = Extras {
        proxy: Some(proxy),
        demo: Some(server),
        traffic: Some(traffic),
        api: Some(api),
        measures: Default::default(),
        webhooks: None,
        demo_cluster: None,
    };
    Ok((setup, extras))
}

fn demo_client(machine: MachineConfig, subscribe: Vec<String>) -> ClientConfig {
    ClientConfig {
        machine,
        subscribe,
        auto_connect: true,
        connect_via: None,
        dial: Default::default(),
        panic_once_connected: crate::panic_report::debug_panic_requested(),
    }
}

/// The presence user (and signed-in user) of the watcher of node `node`: `you@a` ...
pub fn cluster_user(node: &str) -> String {
    format!("{DEMO_USER}@{node}")
}

/// Start a demo cluster of `n` nodes (`a`, `b`, `c` ...; 1 to 9) with its traffic, and
/// describe one connection to each node: each node's [`Node`] dials that node's port,
/// authorizes through that node's auth endpoint as its own presence member (`you@a`,
/// `you@b` ...), subscribes to the demo channels and [`cluster::PROBE_CHANNEL`], and has
/// that node's HTTP API; its extras hold a handle on its node (for `close` and `no_pong`),
/// and the first node's also hold the traffic. No fault proxy: the [`DemoCluster`] applies
/// the cluster faults (`kill_node`, `partition`, `keep_member`, `restore`) itself.
///
/// `Setup.client`, `auth` and `api` are the first node's; `Setup.dashboard.nodes` the
/// names. The webhook receiver's options are in `Setup.webhooks` as for one server: once it
/// listens, point the cluster at it with [`DemoCluster::send_webhooks_to`]. Keep the
/// cluster (or the nodes' extras) for as long as the session runs: the nodes stop when
/// the last of them is dropped.
pub async fn start_cluster(
    n: usize,
    webhooks: &crate::cli::webhook::WebhookArgs,
) -> anyhow::Result<(Setup, Vec<Node>, DemoCluster)> {
    if !(1..=MAX_NODES).contains(&n) {
        anyhow::bail!("a demo cluster has 1 to {MAX_NODES} nodes, not {n}");
    }
    let cluster = DemoCluster::start(DemoConfig::default(), n)
        .await
        .context("cannot start the demo cluster on 127.0.0.1")?;
    let mut traffic = Some(cluster.start_traffic());
    let app = cluster.app();
    let mut subscribe: Vec<String> = traffic::CHANNELS.iter().map(|c| c.to_string()).collect();
    subscribe.push(cluster::PROBE_CHANNEL.to_string());
    let mut nodes = Vec::with_capacity(n);
    for handle in cluster.handles() {
        let name = crate::demo::node_name(nodes.len());
        let mut endpoint = Endpoint::new("127.0.0.1", handle.key());
        endpoint.tls = false;
        endpoint.ws_port = handle.addr().port();
        endpoint.transports = Transports {
            enabled: Some(vec!["ws".into()]),
            disabled: vec![],
        };
        let mut machine = MachineConfig::new(endpoint);
        demo_timings(&mut machine);
        machine.seed = rand::random();
        machine.signin = true;
        let auth = demo_authorizers(&handle, &cluster_user(&name), &format!("You (node {name})"))?;
        let api = HttpApi::new(
            handle.http_url(),
            handle.app_id(),
            handle.key(),
            handle.secret(),
        );
        nodes.push(Node {
            name: name.as_str().into(),
            client: demo_client(machine, subscribe.clone()),
            auth,
            api: Some(api.clone()),
            extras: Extras {
                proxy: None,
                demo: Some(handle),
                traffic: traffic.take(),
                api: Some(api),
                measures: Default::default(),
                webhooks: None,
                demo_cluster: None,
            },
        });
    }
    let first = &nodes[0];
    let addrs: Vec<String> = cluster
        .handles()
        .iter()
        .zip(cluster.names())
        .map(|(h, name)| format!("{name} {}", h.addr()))
        .collect();
    let setup = Setup {
        client: first.client.clone(),
        auth: first.auth.clone(),
        api: first.api.clone(),
        dashboard: DashboardInfo {
            nodes: nodes.iter().map(|node| node.name.clone()).collect(),
            host: format!("demo cluster of {n} nodes: {}", addrs.join(", ")),
            key: app.key.clone(),
            tls: false,
            demo: true,
        },
        log_ring: DEFAULT_LOG_RING,
        log_bytes: crate::config::DEFAULT_LOG_BYTES,
        prefs: Default::default(),
        measures: Default::default(),
        webhooks: Some(demo_webhooks(webhooks, &app)?),
        nodes: Vec::new(),
        ghost_after: crate::config::DEFAULT_GHOST_AFTER,
    };
    Ok((setup, nodes, cluster))
}

/// Authorize through the node's own auth endpoint as `user`, and sign in as `user`.
fn demo_authorizers(
    server: &DemoHandle,
    user: &str,
    name: &str,
) -> anyhow::Result<Arc<Authorizers>> {
    let info = serde_json::json!({ "name": name }).to_string();
    let params = vec![
        ("user_id".to_string(), user.to_string()),
        ("user_info".to_string(), info),
    ];
    let channel = EndpointAuthorizer::new(
        &server.auth_endpoint(),
        params,
        Vec::new(),
        Duration::from_secs(5),
    )
    .map_err(anyhow::Error::msg)?;
    let user_data = serde_json::json!({ "id": user, "name": name }).to_string();
    let signer = LocalUserSigner::new(server.key(), server.secret(), user_data)
        .map_err(anyhow::Error::msg)?;
    Ok(Arc::new(Authorizers {
        channel: Authorizer::Endpoint(channel),
        user: Some(UserAuthenticator::Local(signer)),
    }))
}

/// The demo's webhook receiver: where the flags say, else on a free loopback port, checked
/// with the demo app's key and secret.
fn demo_webhooks(
    webhooks: &crate::cli::webhook::WebhookArgs,
    app: &App,
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
            key: app.key.clone(),
            secret: app.secret.clone(),
        },
    })
}
