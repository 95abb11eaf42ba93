//! chanwatch: a client for the Pusher Channels protocol 7, with a terminal dashboard and a
//! headless NDJSON mode. Data flows one way: socket -> client task -> session ->
//! [`record::Record`] -> (headless writer | dashboard); keys or stdin -> [`session::Command`]
//! -> session, which serves faults, publishing and HTTP API listings itself and passes
//! [`connection::Command`]s on to the client task. ARCHITECTURE.md has the module map.

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod demo;
pub mod faults;
pub mod headless;
pub mod http_api;
pub mod http_client;
pub mod manual;
pub mod measures;
#[cfg(test)]
mod module_graph;
pub mod occupancy;
pub mod panic_report;
pub mod prefs;
pub mod private_file;
pub mod probe;
pub mod protocol;
pub mod record;
pub mod recording;
pub mod replay;
pub mod session;
pub mod setup;
pub mod sidecar;
pub mod tls;
pub mod ui;
