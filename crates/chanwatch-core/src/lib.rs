//! chanwatch-core: a client for the Pusher Channels protocol 7 that any program can embed.
//!
//! Data flows one way: socket -> [`client`] task (running the sans-IO
//! [`connection::Machine`]) -> [`record::Stamped`] records in batches -> whoever watches;
//! [`connection::Command`]s flow the other way. Authorization ([`auth`]) signs locally, asks
//! an endpoint or runs a command; [`http_api`] is the signed HTTP API (publish, list
//! channels and users). Nothing here draws, parses flags or reads a config file.
//!
//! ```no_run
//! use chanwatch_core::auth::Authorizer;
//! use chanwatch_core::client::{self, ClientConfig};
//! use chanwatch_core::connection::{Endpoint, MachineConfig};
//! use std::sync::Arc;
//!
//! # async fn run() {
//! let endpoint = Endpoint { tls: false, ws_port: 6001, ..Endpoint::new("127.0.0.1", "app-key") };
//! let config = ClientConfig::new(MachineConfig::new(endpoint), vec!["news".into()]);
//! let mut client = client::spawn(config, Arc::new(Authorizer::None));
//! while let Some(stamped) = client.records.recv().await {
//!     println!("{}", stamped.to_json_line());
//! }
//! # }
//! ```

#![deny(unsafe_code)]

pub mod auth;
pub mod client;
pub mod connection;
pub mod crypto;
pub mod http_api;
pub mod http_client;
pub mod input_file;
pub mod mask;
pub mod pairs;
pub mod protocol;
pub mod record;
pub mod tls;
