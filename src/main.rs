//! The `chanwatch` binary: parse flags, set up logging, start the client, run a mode.

use anyhow::Context;
use chanwatch::cli::{Cli, ConfigAction, Mode, TimingArgs};
use chanwatch::config::{self, starter};
use chanwatch::faults::{FaultHandle, FaultProxy};
use chanwatch::metrics::{Metrics, MetricsServer};
use chanwatch::prefs::theme::Theme;
use chanwatch::recording::{self, Recorder};
use chanwatch::session::{self, Extras, SessionHandle};
use chanwatch::setup;
use chanwatch::ui::{self, app::AppConfig};
use chanwatch_core::client;
use chanwatch_core::connection::{Endpoint, MachineConfig};
use clap::Parser;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tracing_subscriber::EnvFilter;

/// mimalloc asks for transparent huge pages, and where the kernel compacts memory for them
/// on demand (`defrag` = `madvise`, Debian's default) the first faults of a busy stream
/// stall the client for milliseconds at a time: at 100 k events it ran a third slower.
/// 4 KiB pages also keep the resident memory down.
fn no_transparent_huge_pages() {
    // The flag is the process's (prctl(2) PR_SET_THP_DISABLE), whatever rustix files it
    // under; a kernel without it just keeps its default.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

/// mimalloc: a busy stream allocates and frees a few small strings per event, and glibc's
/// allocator spent a fifth of the CPU on that (bench/results.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    no_transparent_huge_pages();
    chanwatch::panic_report::install();
    // Bad flags exit here with code 2 and a message naming the flag (3 for `check`).
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Commands that print or write a file and need neither logging nor a runtime.
    match &cli.mode {
        Some(Mode::Completions { shell }) => {
            return print_bytes(&chanwatch::manual::completions(*shell));
        }
        Some(Mode::Man) => return print_bytes(&chanwatch::manual::man()),
        Some(Mode::Config(action)) => return config_command(&cli, action),
        Some(Mode::Check(args)) => return check_command(&cli, args),
        Some(Mode::Demo(_) | Mode::Replay(_)) | None => {}
    }
    let logging_to_file = cli.output.log_file.is_some();
    if let Err(e) = init_tracing(&cli) {
        eprintln!("chanwatch: {e:#}");
        return ExitCode::FAILURE;
    }
    // Headless work is one stream through one task chain, so one thread runs it (frames
    // are not handed between cores) and the stdout thread formats and writes beside it.
    // Measured against a worker pool: 10-20 % less CPU, and within ±10 % in events/s
    // either way (bench/results.md). The dashboard keeps a worker pool so drawing never
    // waits on the socket.
    let mut builder = if cli.output.headless {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chanwatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for stray blocking work (a pending stdout write to a dead reader).
    runtime.shutdown_timeout(Duration::from_millis(500));
    // A panic in any task was already reported in one line: never a success.
    if let Some(message) = chanwatch::panic_report::message() {
        if logging_to_file {
            tracing::error!("{message}");
        }
        return ExitCode::from(chanwatch::panic_report::EXIT_CODE);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if logging_to_file {
                tracing::error!("{e:#}");
            }
            eprintln!("chanwatch: {e:#}");
            // A bad configuration exits like a bad flag.
            if setup::is_config_error(&e) {
                ExitCode::from(setup::SetupError::EXIT_CODE)
            } else if let Some(code) = chanwatch::replay::exit_code(&e) {
                ExitCode::from(code)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.output.print_config {
        print!("{}", setup::print_config(&cli)?);
        return Ok(());
    }
    let (mut setup, mut extras) = match &cli.mode {
        Some(Mode::Completions { .. } | Mode::Man | Mode::Config(_) | Mode::Check(_)) => {
            unreachable!("handled before the runtime starts")
        }
        Some(Mode::Replay(args)) => return replay(&cli, args).await,
        Some(Mode::Demo(args)) => {
            // The file's keys and colours first: a bad [keys] table stops the demo before
            // its server starts.
            let prefs = setup::dashboard_prefs(&cli)?;
            let (mut setup, extras) = if args.nodes() > 1 {
                let (mut setup, nodes, cluster) =
                    setup::demo::start_cluster(args.nodes(), &cli.webhooks).await?;
                setup.nodes = nodes;
                for node in &mut setup.nodes {
                    apply_timing_flags(&cli.timing, &mut node.client.machine);
                }
                let extras = Extras {
                    demo_cluster: Some(cluster),
                    ..Extras::default()
                };
                (setup, extras)
            } else {
                setup::demo::start(&cli.webhooks).await?
            };
            apply_timing_flags(&cli.timing, &mut setup.client.machine);
            setup.prefs = prefs;
            // The log's size flags apply to the demo as to any session.
            if let Some(n) = cli.output.log_ring {
                setup.log_ring = n;
            }
            if let Some(n) = cli.output.log_bytes {
                setup.log_bytes = n;
            }
            (setup, extras)
        }
        None => {
            let setup = setup::from_cli(&cli)?;
            let extras = Extras {
                api: setup.api.clone(),
                ..Extras::default()
            };
            (setup, extras)
        }
    };
    // The demo takes these from its flags alone; a session from the merged configuration.
    extras.measures = match cli.mode {
        Some(Mode::Demo(_)) => cli.measures.options(true, cli.output.headless),
        _ => chanwatch::cli::measures::options(&setup.measures, false, cli.output.headless),
    };
    if cli.output.fault_proxy && extras.proxy.is_none() {
        let proxy = start_fault_proxy(&setup.client.machine.endpoint).await?;
        setup.client.connect_via = Some(proxy.addr());
        extras.proxy = Some(proxy);
    }
    let metrics_listen = match cli.mode {
        Some(Mode::Demo(_)) => cli.measures.metrics_listen,
        _ => setup.measures.metrics_listen,
    };
    // Listening before connecting: an address in use stops here, before any traffic.
    let metrics = match metrics_listen {
        Some(addr) => {
            let nodes: Vec<_> = setup.nodes.iter().map(|n| n.name.clone()).collect();
            Some(start_metrics(addr, cli.output.headless, &nodes).await?)
        }
        None => None,
    };
    if let Some(options) = setup.webhooks.take() {
        let server = chanwatch::webhook_server::start(options).await?;
        if let Some(demo) = &extras.demo {
            demo.send_webhooks_to(server.url());
        }
        if let Some(cluster) = &extras.demo_cluster {
            cluster.send_webhooks_to(server.url());
        }
        extras.webhooks = Some(server);
    }
    let recorder = start_recording(&cli, &setup)?;
    let handle = if setup.nodes.is_empty() {
        let client = client::spawn(setup.client, setup.auth);
        session::wrap(client, extras)
    } else {
        start_cluster(&cli, &mut setup, extras)?
    };
    let (handle, _metrics_server) = match metrics {
        Some((metrics, server)) => (chanwatch::metrics::tap(handle, metrics), Some(server)),
        None => (handle, None),
    };
    let handle = match &recorder {
        Some(r) => recording::tap(handle, r.clone()),
        None => handle,
    };
    let result = watch(
        &cli,
        handle,
        setup.dashboard,
        (setup.log_ring, setup.log_bytes),
        setup.prefs,
    )
    .await;
    if let Some(r) = &recorder {
        r.flush()?;
    }
    result
}

/// Several `--node`s: a session per node, joined. Each node's session keeps its own
/// `stats`; the delivery probe replaces the one-connection latency probe. The webhook
/// receiver, when there is one, checks what the first node's connection did.
fn start_cluster(
    cli: &Cli,
    setup: &mut setup::Setup,
    mut extras: Extras,
) -> anyhow::Result<SessionHandle> {
    use chanwatch::session::cluster::{self, ClusterOptions};
    if extras.proxy.is_some() {
        anyhow::bail!(
            "--fault-proxy stands in front of one connection; it cannot be used with several --node"
        );
    }
    let mut per_node = extras.measures.clone();
    let probe_interval = per_node.probe.take().map(|p| p.interval);
    // --occupancy-interval (5 s without it): how often the nodes' APIs are asked for
    // counts and for the users each socket's roster is compared with.
    let mut options = ClusterOptions {
        ghost_after: setup.ghost_after,
        occupancy_interval: per_node.occupancy_interval,
        ..ClusterOptions::default()
    };
    if let Some(interval) = probe_interval {
        options.probe_interval = interval;
    }
    // The dashboard redraws the matrix as it moves; headless output reports it with the
    // stats, every --stats-interval (10 s without one).
    options.report_interval = if cli.output.headless {
        per_node.stats_interval.unwrap_or(options.report_interval)
    } else {
        Duration::from_secs(1)
    };
    let mut nodes = std::mem::take(&mut setup.nodes);
    for (i, node) in nodes.iter_mut().enumerate() {
        node.extras.measures = per_node.clone();
        if i == 0 {
            node.extras.webhooks = extras.webhooks.take();
        }
    }
    Ok(cluster::start(cluster::Cluster {
        nodes,
        options,
        demo: extras.demo_cluster.take(),
    }))
}

/// `--metrics-listen ADDR`: the metrics and their server, whose address is said on stderr
/// (headless) or in the log (the dashboard owns the terminal), port 0 resolved. With
/// several `nodes`, each connection's series carry its node and the cluster's are added.
async fn start_metrics(
    addr: std::net::SocketAddr,
    headless: bool,
    nodes: &[chanwatch_core::record::NodeName],
) -> anyhow::Result<(Arc<Mutex<Metrics>>, MetricsServer)> {
    let metrics = Arc::new(Mutex::new(Metrics::for_nodes(nodes)));
    let server = MetricsServer::start(addr, metrics.clone()).await?;
    let line = format!("metrics at http://{}/metrics", server.addr());
    if headless {
        eprintln!("chanwatch: {line}");
    } else {
        tracing::info!("{line}");
    }
    Ok((metrics, server))
}

/// `--record FILE`: the recording starts before the client, so it holds its first record.
fn start_recording(cli: &Cli, setup: &setup::Setup) -> anyhow::Result<Option<Recorder>> {
    let Some(path) = &cli.output.record else {
        return Ok(None);
    };
    let channels = setup.client.subscribe.clone();
    let header = recording::Header::new(&setup.dashboard, channels, SystemTime::now());
    Ok(Some(Recorder::create(path, &header)?))
}

/// `chanwatch replay FILE`, headless or in the dashboard.
async fn replay(cli: &Cli, args: &chanwatch::replay::ReplayArgs) -> anyhow::Result<()> {
    if cli.output.headless {
        return Ok(chanwatch::replay::headless::run_stdio(args).await?);
    }
    // The file's keys and colours apply to a replay as they do live.
    let prefs = setup::dashboard_prefs(cli)?;
    let log = (
        cli.output
            .log_ring
            .unwrap_or(chanwatch::config::DEFAULT_LOG_RING),
        cli.output
            .log_bytes
            .unwrap_or(chanwatch::config::DEFAULT_LOG_BYTES),
    );
    ui::replay::run(args, dashboard_config(log, prefs)).await
}

/// The dashboard's settings, live or in a replay.
fn dashboard_config(
    (log_ring, log_bytes): (usize, u64),
    prefs: setup::DashboardPrefs,
) -> AppConfig {
    AppConfig {
        log_capacity: log_ring,
        log_bytes,
        // NO_COLOR wins over the file's colours: a monochrome theme ignores its palette.
        theme: Theme::from_env().with_palette(prefs.palette),
        keymap: prefs.keymap,
        measures: ui::app::measures::Panel::enabled_from_env(),
        ..AppConfig::default()
    }
}

/// Headless output or the dashboard, on a running session.
async fn watch(
    cli: &Cli,
    handle: SessionHandle,
    dashboard: chanwatch::session::DashboardInfo,
    log: (usize, u64),
    prefs: setup::DashboardPrefs,
) -> anyhow::Result<()> {
    if cli.output.headless {
        return chanwatch::headless::run(handle).await;
    }
    let SessionHandle {
        commands,
        records,
        task,
    } = handle;
    let result = ui::run_with(commands, records, dashboard, dashboard_config(log, prefs)).await;
    // The dashboard has asked the client to quit; give its close frame a moment to go out.
    let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    result
}

/// The flags, or the exit code after clap printed why not. `chanwatch check` follows the
/// Nagios convention, where bad usage is UNKNOWN (3), not clap's 2, and a monitor reads a
/// status line on stdout.
fn parse_cli() -> Result<Cli, ExitCode> {
    use clap::CommandFactory;
    use clap::error::ErrorKind;
    let error = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || !chanwatch::cli::check::is_check_command(Cli::command(), std::env::args_os())
    {
        error.exit();
    }
    let _ = error.print();
    let json = std::env::args_os().any(|a| a == "--json");
    let first = error.to_string();
    let first = first.lines().next().unwrap_or("bad usage");
    let report = chanwatch::check::Report::unknown(&format!("bad usage: {first}"), json);
    Err(print_report(&report))
}

/// The check's report on stdout and its exit code; a reader gone early changes neither.
fn print_report(report: &chanwatch::check::Report) -> ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(report.text.as_bytes())
        .and_then(|()| stdout.flush());
    ExitCode::from(report.exit_code)
}

/// `chanwatch check`: one check on a runtime of its own, its report on stdout.
fn check_command(cli: &Cli, args: &chanwatch::cli::check::CheckArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let report = chanwatch::check::Report::unknown(
                &format!("cannot start the async runtime: {e}"),
                args.json,
            );
            return print_report(&report);
        }
    };
    let report = runtime.block_on(chanwatch::check::run(cli, args));
    runtime.shutdown_timeout(Duration::from_millis(500));
    print_report(&report)
}

/// Generated text to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chanwatch: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `chanwatch config init|path`: where the config file is (`--config`, which also reads
/// `CHANWATCH_CONFIG`, else the platform's config directory), and a starter file there.
fn config_command(cli: &Cli, action: &ConfigAction) -> ExitCode {
    let location = config::locate(
        cli.connection.config.as_deref(),
        None,
        config::default_path(),
    );
    let Some(path) = location.path() else {
        eprintln!("chanwatch: {}", starter::InitError::NoLocation);
        return ExitCode::FAILURE;
    };
    match action {
        ConfigAction::Path => {
            println!("{}", path.display());
            if !path.exists() {
                eprintln!("(no file there yet: `chanwatch config init` writes a starter one)");
            }
            ExitCode::SUCCESS
        }
        ConfigAction::Init => {
            if let Some(Err(e)) = cli
                .connection
                .profile
                .as_deref()
                .map(starter::check_profile_name)
            {
                eprintln!("chanwatch: config init: {e}");
                return ExitCode::from(setup::SetupError::EXIT_CODE);
            }
            let text = starter::text(cli.connection.profile.as_deref());
            match starter::write_new(path, &text) {
                Ok(()) => {
                    println!("{}", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("chanwatch: config init: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The demo has its own short timings; timing flags given on the command line still win.
fn apply_timing_flags(t: &TimingArgs, m: &mut MachineConfig) {
    let pairs = [
        (t.activity_timeout, &mut m.activity_timeout),
        (t.pong_timeout, &mut m.pong_timeout),
        (t.unavailable_timeout, &mut m.unavailable_timeout),
        (t.retry_cap, &mut m.retry_cap),
        (t.handshake_timeout, &mut m.handshake_timeout),
    ];
    for (flag, value) in pairs {
        if let Some(d) = flag {
            *value = d;
        }
    }
}

/// A fault proxy in front of a real server: the client dials the proxy and still speaks TLS
/// and HTTP to the server's own name.
async fn start_fault_proxy(endpoint: &Endpoint) -> anyhow::Result<FaultHandle> {
    let port = if endpoint.tls {
        endpoint.wss_port
    } else {
        endpoint.ws_port
    };
    let target = format!("{}:{port}", endpoint.host);
    let upstream = tokio::net::lookup_host(&target)
        .await
        .with_context(|| format!("--fault-proxy: cannot resolve {target}"))?
        .next()
        .with_context(|| format!("--fault-proxy: {target} has no address"))?;
    FaultProxy::start(upstream)
        .await
        .context("--fault-proxy: cannot listen on 127.0.0.1")
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
            // Logs at -vv and above hold server answers and auth exchanges: only the owner
            // may read them, an existing file included.
            let file =
                chanwatch::private_file::open(path, chanwatch::private_file::Existing::Append)
                    .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None => {
            // Colour codes only for a person at a terminal: in a pipe or a CI log they are
            // noise, and NO_COLOR turns them off as it does the dashboard's colours.
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal() && Theme::from_env() == Theme::coloured();
            builder.with_ansi(ansi).with_writer(std::io::stderr).init()
        }
    }
    Ok(())
}
