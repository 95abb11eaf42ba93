//! The `chanwatch` binary: parse flags, set up logging, start the client, run a mode.

use anyhow::Context;
use chanwatch::cli::{self, Cli};
use chanwatch::client::{self, AuthProvider, ClientConfig};
use chanwatch::connection::{AuthFailure, AuthGrant, AuthRequest};
use clap::Parser;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Bad flags exit here with code 2 and a message naming the flag.
    let cli = Cli::parse();
    let logging_to_file = cli.output.log_file.is_some();
    if let Err(e) = init_tracing(&cli) {
        eprintln!("chanwatch: {e:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chanwatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for stray blocking work (a pending stdout write to a dead reader).
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if logging_to_file {
                tracing::error!("{e:#}");
            }
            eprintln!("chanwatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = ClientConfig {
        machine: cli::machine_config(&cli),
        subscribe: cli.channels.subscribe.clone(),
        auto_connect: true,
    };
    // WIRE-AUTH: replace with the real authorizer built from `cli.auth`.
    let auth: Arc<dyn AuthProvider> = Arc::new(NoAuthorizer);
    if !cli.output.headless {
        // WIRE-UI: the dashboard goes here.
        anyhow::bail!("the dashboard is not built into this binary yet; use --headless");
    }
    let handle = client::spawn(config, auth);
    chanwatch::headless::run(handle).await
}

/// Refuses every request until the real authorizer is wired in.
struct NoAuthorizer;

impl AuthProvider for NoAuthorizer {
    fn authorize(
        &self,
        _req: AuthRequest,
    ) -> Pin<Box<dyn Future<Output = Result<AuthGrant, AuthFailure>> + Send>> {
        Box::pin(async {
            Err(AuthFailure {
                status: None,
                message: "no authorizer wired".into(),
            })
        })
    }
}

/// Logs go to `--log-file` or stderr, never stdout (stdout is the NDJSON stream).
fn init_tracing(cli: &Cli) -> anyhow::Result<()> {
    let filter = match cli.output.verbose {
        0 => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        1 => EnvFilter::new("warn,chanwatch=info"),
        2 => EnvFilter::new("info,chanwatch=debug"),
        _ => EnvFilter::new("debug,chanwatch=trace"),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match &cli.output.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}
