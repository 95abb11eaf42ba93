//! chanwatch: a client for the Pusher Channels protocol 7, with a terminal dashboard and a
//! headless NDJSON mode. Data flows one way: socket -> client task -> [`record::Record`] ->
//! (headless writer | dashboard); keys or stdin -> [`record::Command`] -> client task.

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
pub mod measures;
pub mod occupancy;
pub mod panic_report;
pub mod probe;
pub mod protocol;
pub mod record;
pub mod session;
pub mod setup;
pub mod sidecar;
pub mod ui;
