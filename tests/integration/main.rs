//! Every integration test in one binary (one link instead of one per area), a module per
//! area; `support` holds the scripted servers, sockudo, the stubs and the tmux driver they
//! share. Run one area with `cargo test --test integration hostile_server::`.
//!
//! The soak (`tests/soak.rs`) stays a binary of its own: it checks that this process's
//! memory did not grow over 200 reconnects, which tests running beside it would disturb.

mod support;

mod assets;
mod auth_endpoint;
mod auth_paths;
mod check_cli;
mod cluster;
mod completions_man;
mod config_cli;
mod config_example;
mod core_example;
mod demo_cluster;
mod demo_scenarios;
mod demo_server;
mod e2e_dashboard;
mod e2e_replay;
mod fault_proxy;
mod fuzz_corpus;
mod headless_cli;
mod hostile_server;
mod http_api_demo;
mod log_colour;
mod measures;
mod metrics_endpoint;
mod package_contents;
mod private_files;
mod readme_contract;
mod readme_flags;
mod replay_cli;
mod scripted_server;
mod secrets;
mod servers;
mod sockudo_auth;
mod sockudo_origin;
mod tls_trust;
mod webhooks;
