//! chanwatch: a terminal dashboard and a headless NDJSON mode over the Pusher Channels
//! protocol 7 client of `chanwatch_core`. Data flows one way: socket -> client task ->
//! session -> [`session_record::SessionRecord`] -> (headless writer | dashboard); keys or
//! stdin -> [`session::Command`] -> session, which serves faults, publishing and HTTP API
//! listings itself and passes `chanwatch_core::connection::Command`s on to the client task.
//! ARCHITECTURE.md has the module map.

#![deny(unsafe_code)]

pub mod check;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod faults;
pub mod headless;
pub mod manual;
pub mod metrics;
#[cfg(test)]
mod module_graph;
pub mod occupancy;
pub mod panic_report;
pub mod prefs;
pub mod private_file;
pub mod probe;
pub mod recording;
pub mod replay;
pub mod session;
pub mod session_record;
pub mod setup;
pub mod stats;
pub mod ui;
pub mod webhook;
pub mod webhook_server;
