//! Flags of the webhook receiver.

use crate::config::webhook::{check_path, parse_forward, parse_listen};
use clap::Args;
use std::net::SocketAddr;

#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookArgs {
    /// Receive the app's webhooks on ADDR:PORT (or :PORT on loopback), check their key and
    /// signature with the app secret, and show them beside the socket (the demo starts one
    /// on a free loopback port).
    #[arg(long, global = true, value_name = "ADDR", value_parser = parse_listen)]
    pub webhook_listen: Option<SocketAddr>,
    /// The path webhooks are posted to [default: /webhooks].
    #[arg(long, global = true, value_name = "PATH", value_parser = check_path)]
    pub webhook_path: Option<String>,
    /// Pass each webhook request on, body and headers unchanged, to this URL (your real
    /// backend) and show its answer.
    #[arg(long, global = true, value_name = "URL", value_parser = forward)]
    pub webhook_forward: Option<String>,
}

fn forward(s: &str) -> Result<String, String> {
    parse_forward(s).map(|_| s.trim().to_string())
}
