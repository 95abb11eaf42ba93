//! chanwatch-core: a client for the Pusher Channels protocol 7 that any program can embed.
//!
//! Data flows one way: socket -> [`client`] task (running the sans-IO
//! [`connection::Machine`]) -> [`record::Stamped`] records in batches -> whoever watches;
//! [`connection::Command`]s flow the other way. Authorization ([`auth`]) signs locally, asks
//! an endpoint or runs a command; [`http_api`] is the signed HTTP API (publish, list
//! channels and users). Nothing here draws, parses flags or reads a config file.
//!
//! ```no_run
//! use chanwatch_core::client::{self, ClientConfig};
//! # async fn run(config: ClientConfig) {
//! let (handle, mut records) = client::spawn(config, None);
//! while let Some(stamped) = records.recv().await {
//!     println!("{}", stamped.to_json_line());
//! }
//! # drop(handle);
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
