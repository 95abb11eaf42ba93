//! From parsed flags to everything a session needs: the client's configuration, the
//! authorizers, the HTTP API client and what the dashboard shows about the connection.

use crate::auth::{Authorizer, EndpointAuthorizer, LocalSigner};
use crate::cli::Cli;
use crate::client::{AuthProvider, Authorizers, ClientConfig};
use crate::http_api::HttpApi;
use crate::ui::DashboardInfo;
use anyhow::Context;
use std::sync::Arc;

/// The default size of the dashboard's event log ring.
pub const DEFAULT_LOG_RING: usize = 10_000;

pub struct Setup {
    pub client: ClientConfig,
    pub auth: Arc<dyn AuthProvider>,
    /// The signed HTTP API, when an app id and secret are known.
    pub api: Option<HttpApi>,
    pub dashboard: DashboardInfo,
    pub log_ring: usize,
}

/// Build a session's setup from the command line.
pub fn from_cli(cli: &Cli) -> anyhow::Result<Setup> {
    let machine = crate::cli::machine_config(cli);
    let key = machine.endpoint.key.clone();
    let a = &cli.auth;
    let channel = match (&a.secret, &a.auth_endpoint) {
        (Some(secret), _) => Authorizer::Local(
            LocalSigner::new(&key, secret, a.user_id.clone(), a.user_info.clone())
                .map_err(anyhow::Error::msg)
                .context("--secret")?,
        ),
        (None, Some(url)) => Authorizer::Endpoint(
            EndpointAuthorizer::new(
                url.as_str(),
                a.auth_params.clone(),
                a.auth_headers.clone(),
                a.auth_timeout,
            )
            .map_err(anyhow::Error::msg)
            .context("--auth-endpoint")?,
        ),
        (None, None) => Authorizer::None,
    };
    let dashboard = DashboardInfo {
        host: machine.endpoint.host.clone(),
        key,
        tls: machine.endpoint.tls,
        demo: false,
    };
    Ok(Setup {
        client: ClientConfig {
            machine,
            subscribe: cli.channels.subscribe.clone(),
            auto_connect: true,
            connect_via: None,
        },
        auth: Arc::new(Authorizers {
            channel,
            user: None,
        }),
        api: None,
        dashboard,
        log_ring: DEFAULT_LOG_RING,
    })
}
