//! The app secret (and everything derived from it that would let someone sign or decrypt:
//! the encryption master key, an encrypted channel's shared secret, a bearer token for the
//! auth endpoint) never appears in anything chanwatch shows or writes: stdout, stderr, the
//! `--log-file` at `-vvv`, `--print-config`, error messages, `auth` records, or the
//! dashboard (tmux screen captures and `TestBackend` renders of the App fed with real
//! records, detail views included).
//!
//! Every live case runs against a demo server started with the secret, so private, presence
//! and encrypted subscriptions really sign with it and the HTTP API calls are really signed.

use base64::Engine;
use chanwatch::demo::{DemoConfig, DemoHandle, DemoServer};
use chanwatch::session::DashboardInfo;
use chanwatch::session_record::{SessionRecord, Stamped};
use chanwatch::ui::app::{App, AppConfig, Msg};
use chanwatch::ui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use sha2::Digest;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "s3cr3t-value-9f8e7d";
const BEARER: &str = "b34r3r-t0k3n-77aa1c";
const WAIT: Duration = Duration::from_secs(30);
const PRIVATE: &[&str] = &["private-chat", "presence-lobby", "private-encrypted-vault"];

fn master_key() -> [u8; 32] {
    sha2::Sha256::digest(b"chanwatch secrets test master key").into()
}

fn master_key_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(master_key())
}

async fn server() -> DemoHandle {
    DemoServer::start(DemoConfig {
        secret: SECRET.into(),
        master_key: Some(master_key()),
        ..DemoConfig::default()
    })
    .await
    .expect("demo server on loopback")
}

/// Every string that must never be shown: the secret, the bearer token, the master key (as
/// given, and as hex) and the shared secret the server derives for the encrypted channel.
fn forbidden(server: &DemoHandle) -> Vec<String> {
    let vault = server
        .authorize("1.1", "private-encrypted-vault", None, None)
        .expect("the demo server signs")
        .shared_secret
        .expect("an encrypted channel has a shared secret");
    vec![
        SECRET.into(),
        BEARER.into(),
        master_key_b64(),
        hex::encode(master_key()),
        vault,
    ]
}

#[track_caller]
fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for f in forbidden {
        if let Some(at) = text.find(f.as_str()) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            let to = (at + f.len() + 200).min(text.len());
            let to = (to..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            panic!("{what} leaks {f:?}:\n...{}...", &text[from..to]);
        }
    }
}

/// What one run of the binary left behind.
struct Run {
    stdout: String,
    stderr: String,
    log: String,
    records: Vec<Value>,
    ok: bool,
}

impl Run {
    fn assert_clean(&self, name: &str, forbidden: &[String]) {
        assert_clean(&format!("{name}: stdout"), &self.stdout, forbidden);
        assert_clean(&format!("{name}: stderr"), &self.stderr, forbidden);
        assert_clean(&format!("{name}: log file"), &self.log, forbidden);
    }

    fn of_type(&self, t: &str) -> Vec<&Value> {
        self.records.iter().filter(|r| r["type"] == t).collect()
    }

    fn context(&self) -> String {
        let tail: Vec<&str> = self.stdout.lines().rev().take(20).collect();
        format!(
            "stdout tail:\n{}\nstderr:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            self.stderr
        )
    }
}

/// How a headless run is driven.
enum Script {
    /// Exit on its own (an error, `--print-config`); stdin closed at once.
    Exits,
    /// Wait for these channels to be subscribed (or refused), send `commands` and wait for
    /// a record of each type in `expect`, then quit.
    Live {
        channels: Vec<String>,
        commands: Vec<Value>,
        expect: Vec<&'static str>,
    },
}

/// Run the binary with `args` (plus `-vvv --log-file` unless `--print-config`), isolated from
/// the developer's settings, with `env` added.
async fn run(dir: &Path, name: &str, args: &[String], env: &[(&str, &str)], script: Script) -> Run {
    let log_path = dir.join(format!("{name}.log"));
    let mut cmd = tokio::process::Command::from(crate::support::isolated::chanwatch());
    // Before the others: `demo` is a subcommand and these are top-level options.
    if !args.iter().any(|a| a == "--print-config") {
        cmd.arg("-vvv").arg("--log-file").arg(&log_path);
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn chanwatch");
    let mut stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s).await;
        s
    });
    let mut stdout = String::new();
    let mut records = Vec::new();

    // Read one stdout line (bounded); None at EOF.
    async fn line(
        lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
        stdout: &mut String,
        records: &mut Vec<Value>,
        deadline: tokio::time::Instant,
    ) -> Option<Value> {
        let l = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .ok()?
            .ok()??;
        stdout.push_str(&l);
        stdout.push('\n');
        let v = serde_json::from_str::<Value>(&l).unwrap_or(Value::Null);
        records.push(v.clone());
        Some(v)
    }

    let mut failed: Option<String> = None;
    match script {
        Script::Exits => drop(stdin.take()),
        Script::Live {
            channels,
            commands,
            expect,
        } => {
            let deadline = tokio::time::Instant::now() + WAIT;
            let mut waiting: Vec<String> = channels;
            while !waiting.is_empty() {
                let Some(v) = line(&mut lines, &mut stdout, &mut records, deadline).await else {
                    failed = Some(format!("waiting for {waiting:?}"));
                    break;
                };
                if v["type"] == "subscribed" || v["type"] == "subscription_error" {
                    waiting.retain(|c| v["channel"] != c.as_str());
                }
            }
            if failed.is_some() {
                let _ = child.start_kill();
            } else {
                let input = stdin.as_mut().unwrap();
                for c in &commands {
                    input.write_all(format!("{c}\n").as_bytes()).await.unwrap();
                }
                input.flush().await.unwrap();
                let mut expect = expect;
                while !expect.is_empty() {
                    let Some(v) = line(&mut lines, &mut stdout, &mut records, deadline).await
                    else {
                        failed = Some(format!("waiting for {expect:?}"));
                        break;
                    };
                    expect.retain(|t| v["type"] != *t);
                }
                // A little more traffic (the demo's private chat, presence, vault) before quitting.
                let more = tokio::time::Instant::now() + Duration::from_millis(1500);
                while line(&mut lines, &mut stdout, &mut records, more)
                    .await
                    .is_some()
                {}
                input.write_all(b"{\"cmd\":\"quit\"}\n").await.unwrap();
                input.flush().await.unwrap();
            }
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while line(&mut lines, &mut stdout, &mut records, deadline)
        .await
        .is_some()
    {}
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("{name}: chanwatch did not exit"))
        .unwrap();
    let stderr = tokio::time::timeout(WAIT, stderr_task)
        .await
        .unwrap()
        .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if let Some(what) = failed {
        panic!("{name}: gave up {what}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    }
    Run {
        stdout,
        stderr,
        log,
        records,
        ok: status.success(),
    }
}

/// A named set of arguments with extra environment.
type Case<'a> = (&'a str, Vec<String>, &'a [(&'a str, &'a str)]);
type ErrorCase<'a> = (&'a str, Vec<String>, Vec<(&'a str, String)>);

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn host_args(server: &DemoHandle) -> Vec<String> {
    strings(&[
        "--no-tls",
        "--host",
        "127.0.0.1",
        "--ws-port",
        &server.addr().port().to_string(),
        "--key",
        server.key(),
    ])
}

fn subscribe_args() -> Vec<String> {
    PRIVATE
        .iter()
        .flat_map(|c| ["-s".to_string(), c.to_string()])
        .collect()
}

/// Commands that make the client use the secret for more than subscriptions: a signed
/// publish, the HTTP API listings and a client event on a private channel.
fn signed_commands() -> (Vec<Value>, Vec<&'static str>) {
    (
        vec![
            json!({"cmd": "publish", "channel": "private-chat", "event": "leak-check", "data": {"n": 1}}),
            // The server encrypts this one with the master key; the client decrypts it.
            json!({"cmd": "publish", "channel": "private-encrypted-vault", "event": "leak-check", "data": {"n": 2}}),
            json!({"cmd": "list_channels"}),
            json!({"cmd": "list_users", "channel": "presence-lobby"}),
            json!({"cmd": "trigger", "channel": "private-chat", "event": "client-leak-check", "data": {}}),
        ],
        vec!["published", "channels", "users"],
    )
}

fn live(channels: &[&str], signed: bool) -> Script {
    let (commands, expect) = if signed {
        signed_commands()
    } else {
        (vec![], vec![])
    };
    Script::Live {
        channels: channels.iter().map(|s| s.to_string()).collect(),
        commands,
        expect,
    }
}

/// The records every signed case must show: real authorizations, all successful, with the
/// encrypted channel's events decrypted (so the shared secret was really in use).
fn assert_signed(name: &str, run: &Run) {
    let auth = run.of_type("auth");
    assert!(
        auth.len() >= PRIVATE.len(),
        "{name}: auth records {auth:?}\n{}",
        run.context()
    );
    assert!(auth.iter().all(|a| a["ok"] == true), "{name}: {auth:?}");
    assert!(
        run.of_type("subscription_error").is_empty(),
        "{name}: {}",
        run.context()
    );
}

/// A plain client of the demo server with the secret given on the command line, signing
/// locally, with the master key, user sign-in and the HTTP API: every use of the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_env_file_and_url_never_show_the_secret() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let forbidden = forbidden(&server);
    let dir = tempfile::tempdir().unwrap();
    let port = server.addr().port().to_string();
    let mk = master_key_b64();

    // 1. Flags.
    let mut flags = host_args(&server);
    flags.extend(strings(&[
        "--secret",
        SECRET,
        "--app-id",
        server.app_id(),
        "--encryption-master-key",
        &mk,
        "--user-data",
        r#"{"id":"leak-checker"}"#,
        "--signin",
    ]));
    flags.extend(subscribe_args());
    // 2. The one-string URL (secret in the user info).
    let url = format!(
        "pusher://{}:{SECRET}@127.0.0.1:{port}/apps/{}",
        server.key(),
        server.app_id()
    );
    let mut by_url = strings(&["--url", &url, "--encryption-master-key", &mk]);
    by_url.extend(subscribe_args());
    // 3. The environment.
    let mut by_env = host_args(&server);
    by_env.extend(strings(&["--encryption-master-key", &mk]));
    by_env.extend(subscribe_args());
    let env = [
        ("PUSHER_APP_SECRET", SECRET),
        ("PUSHER_APP_ID", server.app_id()),
    ];
    // 4. A config file.
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!(
            "key = \"{}\"\nsecret = \"{SECRET}\"\napp_id = \"{}\"\nhost = \"127.0.0.1\"\nws_port = {port}\ntls = false\n",
            server.key(),
            server.app_id()
        ),
    )
    .unwrap();
    // The master key has no config-file key; it comes as a flag.
    let mut by_file = strings(&[
        "--config",
        file.to_str().unwrap(),
        "--encryption-master-key",
        &mk,
    ]);
    by_file.extend(subscribe_args());

    let cases: Vec<Case> = vec![
        ("flags", flags, &[]),
        ("url", by_url, &[]),
        ("env", by_env, &env),
        ("file", by_file, &[]),
    ];
    let mut all_records = Vec::new();
    for (name, args, env) in cases {
        let mut headless = vec!["--headless".to_string()];
        headless.extend(args.iter().cloned());
        let r = run(dir.path(), name, &headless, env, live(PRIVATE, true)).await;
        assert!(r.ok, "{name}: exit status\n{}", r.context());
        r.assert_clean(name, &forbidden);
        assert_signed(name, &r);
        assert!(!r.log.is_empty(), "{name}: -vvv wrote a log");
        if name == "flags" {
            assert!(
                !r.of_type("signed_in").is_empty(),
                "{name}: user sign-in used the secret\n{}",
                r.context()
            );
            assert!(
                r.records
                    .iter()
                    .any(|v| v["type"] == "event" && v["decrypted"] == true),
                "{name}: the vault's events were decrypted\n{}",
                r.context()
            );
        }
        all_records.extend(r.records);

        // --print-config shows where each setting came from, never the secret itself.
        let mut print = args.clone();
        print.push("--print-config".into());
        let p = run(
            dir.path(),
            &format!("{name}-print"),
            &print,
            env,
            Script::Exits,
        )
        .await;
        assert!(p.ok, "{name} --print-config:\n{}", p.context());
        assert!(p.stdout.contains("secret"), "{name}: {}", p.stdout);
        p.assert_clean(&format!("{name} --print-config"), &forbidden);
    }

    render_records_in_app(&all_records, &forbidden, 50);
}

/// Feed real records to the dashboard's App and draw every screen a person could look at:
/// the dashboard, and the detail view of every log entry.
fn render_records_in_app(records: &[Value], forbidden: &[String], min_records: usize) {
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "127.0.0.1".into(),
        key: "demo-key".into(),
        tls: false,
        demo: false,
    };
    let now = Instant::now();
    let mut app = App::new(info, AppConfig::default(), now);
    app.update(Msg::Resize(160, 60), now);
    let mut fed = 0;
    for v in records {
        if let Ok(record) = serde_json::from_value::<SessionRecord>(v.clone()) {
            app.update(Msg::Record(Stamped::now(record)), now);
            fed += 1;
        }
    }
    assert!(fed >= min_records, "only {fed} records parsed back");
    let mut term = Terminal::new(TestBackend::new(160, 60)).unwrap();
    let mut screen = |app: &App, what: &str| {
        term.draw(|f| view::render(app, f)).unwrap();
        let text: String = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert_clean(what, &text, forbidden);
    };
    screen(&app, "dashboard");
    let key = |app: &mut App, code: KeyCode| {
        app.update(
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            Instant::now(),
        );
    };
    // Pause and walk the log from the top, opening each entry's detail.
    while app.focus() != chanwatch::ui::view::layout::Pane::Log {
        key(&mut app, KeyCode::Tab);
    }
    key(&mut app, KeyCode::Char('g'));
    let entries = app.log().len().min(400);
    for i in 0..entries {
        key(&mut app, KeyCode::Enter);
        screen(&app, &format!("detail of log entry {i}"));
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Down);
    }
}

/// An auth endpoint reached with a bearer token: the header's value is masked in `auth`
/// records and the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_header_token_is_masked() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let forbidden = forbidden(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--headless".to_string()];
    args.extend(host_args(&server));
    args.extend(strings(&[
        "--auth-endpoint",
        &server.auth_endpoint(),
        "--auth-header",
        &format!("Authorization: Bearer {BEARER}"),
        "--auth-param",
        "user_id=leak-checker",
    ]));
    args.extend(subscribe_args());
    let r = run(dir.path(), "auth-header", &args, &[], live(PRIVATE, false)).await;
    assert!(r.ok, "{}", r.context());
    r.assert_clean("auth header", &forbidden);
    assert_signed("auth header", &r);
    let auth = r.of_type("auth");
    assert!(
        auth.iter()
            .all(|a| a["request"].to_string().contains("Authorization")),
        "the header is listed, its value masked: {auth:?}"
    );

    let mut print = args[1..].to_vec();
    print.push("--print-config".into());
    let p = run(dir.path(), "auth-header-print", &print, &[], Script::Exits).await;
    assert!(p.ok, "{}", p.context());
    p.assert_clean("auth header --print-config", &forbidden);
}

/// Wrong secrets and bad configuration: the error says what is wrong without quoting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_quote_the_secret() {
    let server = server().await;
    let forbidden = forbidden(&server);
    let dir = tempfile::tempdir().unwrap();
    let port = server.addr().port().to_string();

    // A server that expects another secret: the subscriptions are refused.
    let other = DemoServer::start(DemoConfig::default()).await.unwrap();
    let mut wrong = vec!["--headless".to_string()];
    wrong.extend(host_args(&other));
    wrong.extend(strings(&["--secret", SECRET, "--app-id", other.app_id()]));
    wrong.extend(subscribe_args());
    let (mut commands, _) = signed_commands();
    commands.truncate(1); // the signed publish is refused too
    let r = run(
        dir.path(),
        "wrong-secret",
        &wrong,
        &[],
        Script::Live {
            channels: PRIVATE.iter().map(|s| s.to_string()).collect(),
            commands,
            expect: vec!["command_error"],
        },
    )
    .await;
    assert!(
        r.of_type("subscription_error").len() >= 2,
        "a wrong secret is refused\n{}",
        r.context()
    );
    r.assert_clean("wrong secret", &forbidden);

    // Configuration errors (exit 2), each with the secret somewhere in the bad input.
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(
        &bad_toml,
        format!("key = \"k\"\nsecret = \"{SECRET}\nhost = 1\n"),
    )
    .unwrap();
    let bad_type = dir.path().join("bad-type.toml");
    std::fs::write(&bad_type, format!("key = \"k\"\nsecret = [\"{SECRET}\"]\n")).unwrap();
    let bad_key = dir.path().join("bad-key.toml");
    std::fs::write(&bad_key, format!("key = \"k\"\nsekret = \"{SECRET}\"\n")).unwrap();
    let cases: Vec<ErrorCase> = vec![
        (
            "url with a bad port",
            strings(&[
                "--url",
                &format!("pusher://k:{SECRET}@127.0.0.1:99999/apps/1"),
            ]),
            vec![],
        ),
        (
            "url with a space in the host",
            strings(&["--url", &format!("pusher://k:{SECRET}@bad host/apps/1")]),
            vec![],
        ),
        (
            "url with an unknown scheme",
            strings(&["--url", &format!("wss://k:{SECRET}@127.0.0.1/apps/1")]),
            vec![],
        ),
        (
            "url with a query",
            strings(&[
                "--url",
                &format!("pusher://k:{SECRET}@127.0.0.1/apps/1?secret={SECRET}"),
            ]),
            vec![],
        ),
        (
            "env url malformed",
            strings(&["--headless"]),
            vec![("PUSHER_URL", format!("pusher://k:{SECRET}@[::1/apps/1"))],
        ),
        (
            "config file with an unterminated secret",
            strings(&["--config", bad_toml.to_str().unwrap()]),
            vec![],
        ),
        (
            "config file with a secret of the wrong type",
            strings(&["--config", bad_type.to_str().unwrap()]),
            vec![],
        ),
        (
            "config file with a misspelt key",
            strings(&["--config", bad_key.to_str().unwrap()]),
            vec![],
        ),
        (
            "master key that is not base64",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--secret",
                SECRET,
                "--encryption-master-key",
                SECRET,
            ]),
            vec![],
        ),
        (
            "master key of the wrong length",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--secret",
                SECRET,
                "--encryption-master-key",
                &base64::engine::general_purpose::STANDARD.encode(SECRET),
            ]),
            vec![],
        ),
        (
            "auth header without a colon",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--auth-endpoint",
                "http://127.0.0.1:1/auth",
                "--auth-header",
                &format!("Bearer {BEARER}"),
            ]),
            vec![],
        ),
        (
            "secret with an empty key",
            strings(&["--host", "127.0.0.1", "--key", "", "--secret", SECRET]),
            vec![],
        ),
        (
            "auth param without a '='",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--auth-endpoint",
                "http://127.0.0.1:1/auth",
                "--auth-param",
                BEARER,
            ]),
            vec![],
        ),
        (
            "auth endpoint that is not a URL, with a token in it",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--auth-endpoint",
                &format!("http://bad host/auth?token={BEARER}"),
            ]),
            vec![],
        ),
        (
            "user auth endpoint that is not a URL, with a token in it",
            strings(&[
                "--host",
                "127.0.0.1",
                "--key",
                "k",
                "--user-auth-endpoint",
                &format!("127.0.0.1/auth?token={BEARER}"),
            ]),
            vec![],
        ),
    ];
    let mut forbidden_here = forbidden.clone();
    forbidden_here.push(base64::engine::general_purpose::STANDARD.encode(SECRET));
    for (name, mut args, env) in cases {
        if !args.iter().any(|a| a == "--headless") {
            args.insert(0, "--headless".into());
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = run(dir.path(), name, &args, &env, Script::Exits).await;
        assert!(!r.ok, "{name}: must fail\n{}", r.context());
        assert!(!r.stderr.trim().is_empty(), "{name}: says what is wrong");
        r.assert_clean(name, &forbidden_here);
    }
    let _ = port;
}

/// The demo mode signs with the demo server's own secret: it is never shown either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_never_shows_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let demo_secret = DemoConfig::default().secret;
    let forbidden = vec![demo_secret];
    let r = run(
        dir.path(),
        "demo",
        &strings(&["--headless", "demo"]),
        &[],
        live(PRIVATE, false),
    )
    .await;
    assert!(r.ok, "{}", r.context());
    assert_signed("demo", &r);
    r.assert_clean("demo --headless", &forbidden);
}

/// The real dashboard in tmux with the secret configured: every screen shows no secret.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn dashboard_screens_never_show_the_secret() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in = rt.enter();
    let server = rt.block_on(server());
    let _traffic = server.start_traffic();
    let forbidden = forbidden(&server);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("dash.log");
    let mut args = host_args(&server);
    args.extend(strings(&[
        "--secret",
        SECRET,
        "--app-id",
        server.app_id(),
        "--encryption-master-key",
        &master_key_b64(),
        "-vvv",
        "--log-file",
        log.to_str().unwrap(),
    ]));
    args.extend(subscribe_args());
    let command = format!(
        "{} {}",
        crate::support::isolated::BIN,
        args.iter()
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let t = crate::support::tmux::Tmux::start("secrets", &command, 160, 50);
    let limit = Duration::from_secs(20);
    t.wait_for("the encrypted channel subscribed", limit, |s| {
        s.contains("private-encrypted-vault") && s.contains("connected")
    });
    // Events from every private channel on screen (the channel list names each once; the
    // log names it again, its column cutting a long name to 21 characters), then each view
    // proved open before it is looked at.
    let screen = t.wait_for("events from every private channel", limit, |s| {
        PRIVATE
            .iter()
            .all(|c| s.matches(&c[..c.len().min(21)]).count() >= 2)
    });
    assert_clean("dashboard", &screen, &forbidden);
    let opened = |keys: &[&str], what: &str, marker: &str| {
        t.keys(keys);
        let screen = t.wait_for(what, limit, |s| s.contains(marker));
        assert_clean(&format!("dashboard, {what}"), &screen, &forbidden);
        t.keys(&["Escape"]);
        t.wait_for(&format!("{what} closed"), limit, |s| !s.contains(marker));
    };
    // The log has the focus at start: its first entry's detail, then the second's.
    opened(&["g", "Enter"], "the first entry's detail", " Event ");
    opened(&["j", "Enter"], "the second entry's detail", " Event ");
    opened(&["?"], "the help", " Help");
    // The channels pane (three panes on from the log), its first channel (each is private)
    // selected, and its auth exchange: the request that was signed with the secret.
    t.keys(&["Tab", "Tab", "Tab", "g"]);
    opened(&["a"], "the auth inspector", " Auth ");
    t.keys(&["q"]);
    t.wait_for("the dashboard to exit", limit, |_| t.dead());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.is_empty(), "-vvv wrote a log");
    assert_clean("dashboard log file", &text, &forbidden);
}

const TEAM_TOKEN: &str = "sekrit-team-4471";
const PARAM_TOKEN: &str = "sekrit-param-8812";
const COMMAND_TOKEN: &str = "sekrit-cmd-5530";
const SHOWN_HEADER: &str = "application/json";

/// The log file is readable by its owner only, from the moment it exists.
#[cfg(unix)]
#[track_caller]
fn assert_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}: mode {:o}", path.display(), mode);
}

/// Custom header names and params hold credentials as often as `Authorization` does: their
/// values are masked everywhere, whether given as flags or in a header file, while the
/// allowlisted `Accept` is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_and_params_are_masked_and_allowlisted_headers_shown() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let mut forbidden = forbidden(&server);
    forbidden.extend([TEAM_TOKEN.to_string(), PARAM_TOKEN.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers.txt");
    std::fs::write(
        &headers,
        format!("# the team's token\nX-Team-Token: {TEAM_TOKEN}\n"),
    )
    .unwrap();
    let endpoint_args = |team_header: Vec<String>| {
        let mut args = host_args(&server);
        args.extend(strings(&[
            "--auth-endpoint",
            &server.auth_endpoint(),
            "--auth-header",
            &format!("Accept: {SHOWN_HEADER}"),
            "--auth-param",
            &format!("token={PARAM_TOKEN}"),
        ]));
        args.extend(team_header);
        args.extend(subscribe_args());
        args
    };
    let cases = [
        (
            "team-flag",
            endpoint_args(strings(&[
                "--auth-header",
                &format!("X-Team-Token: {TEAM_TOKEN}"),
            ])),
        ),
        (
            "team-file",
            endpoint_args(strings(&["--auth-header-file", headers.to_str().unwrap()])),
        ),
    ];
    for (name, args) in cases {
        let mut headless = vec!["--headless".to_string()];
        headless.extend(args.iter().cloned());
        let r = run(dir.path(), name, &headless, &[], live(PRIVATE, false)).await;
        assert!(r.ok, "{name}: {}", r.context());
        r.assert_clean(name, &forbidden);
        assert_signed(name, &r);
        #[cfg(unix)]
        assert_owner_only(&dir.path().join(format!("{name}.log")));
        for a in r.of_type("auth") {
            let request = &a["request"];
            assert_eq!(request["headers"]["Accept"], SHOWN_HEADER, "{name}: {a}");
            assert!(
                request["headers"]["X-Team-Token"]
                    .as_str()
                    .is_some_and(|v| v.starts_with('•')),
                "{name}: the header is listed, its value masked: {a}"
            );
            assert!(
                request["form"]["token"]
                    .as_str()
                    .is_some_and(|v| v.starts_with('•')),
                "{name}: the param is listed, its value masked: {a}"
            );
            assert_eq!(request["form"]["socket_id"], a["socket_id"], "{name}: {a}");
        }

        let mut print = args.clone();
        print.push("--print-config".into());
        let p = run(
            dir.path(),
            &format!("{name}-print"),
            &print,
            &[],
            Script::Exits,
        )
        .await;
        assert!(p.ok, "{name} --print-config: {}", p.context());
        p.assert_clean(&format!("{name} --print-config"), &forbidden);
        assert!(
            p.stdout.contains(&format!("Accept = \"{SHOWN_HEADER}\""))
                && p.stdout.contains("X-Team-Token = \"••••")
                && p.stdout.contains("token = \"••••"),
            "{name}: {}",
            p.stdout
        );
    }
}

/// An auth command's arguments may hold a token: the command is shown as its program with
/// every argument masked, in `--print-config`, the `auth` records, errors and the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_command_arguments_are_masked() {
    let server = server().await;
    let forbidden = vec![COMMAND_TOKEN.to_string()];
    let dir = tempfile::tempdir().unwrap();
    // A command that fails (no such program): its failure is reported, naming it.
    let line = format!("chanwatch-test-helper --token {COMMAND_TOKEN}");
    let mut args = host_args(&server);
    args.extend(strings(&["--auth-command", &line, "-s", "private-chat"]));
    let mut headless = vec!["--headless".to_string()];
    headless.extend(args.iter().cloned());
    let r = run(
        dir.path(),
        "command",
        &headless,
        &[],
        live(&["private-chat"], false),
    )
    .await;
    assert!(r.ok, "{}", r.context());
    r.assert_clean("auth command", &forbidden);
    let auth = r.of_type("auth");
    assert!(!auth.is_empty(), "{}", r.context());
    for a in &auth {
        assert_eq!(
            a["request"]["command"], "`chanwatch-test-helper •••• ••••`",
            "{a}"
        );
        assert_eq!(a["ok"], false, "{a}");
    }
    let errors = r.of_type("subscription_error");
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("`chanwatch-test-helper •••• ••••`"))),
        "{errors:?}"
    );

    let mut print = args.clone();
    print.push("--print-config".into());
    let p = run(dir.path(), "command-print", &print, &[], Script::Exits).await;
    assert!(p.ok, "{}", p.context());
    p.assert_clean("auth command --print-config", &forbidden);
    assert!(
        p.stdout
            .contains("command = \"chanwatch-test-helper •••• ••••\""),
        "{}",
        p.stdout
    );
}

/// A token in the auth command's environment assignment, and the user info of an auth or
/// user-auth endpoint's URL (here one that refuses): none of it shows on stdout, stderr, the
/// log, the `--record` file, `--print-config` or the dashboard. The program and the URL's
/// scheme, host, port and path still do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_command_env_and_endpoint_user_info_are_masked() {
    let server = server().await;
    let forbidden = strings(&["s3cr3t", "TOKEN", "PW"]);
    let dir = tempfile::tempdir().unwrap();
    let (stub, _seen) = crate::support::http_stub::serve("/p/route/auth", |_| {
        crate::support::http_stub::Reply::Answer(403, r#"{"error":"refused"}"#.into())
    })
    .await;
    let endpoint = stub.replacen("http://", "http://TOKEN:PW@", 1);
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "env-command",
            strings(&["--auth-command", "API_TOKEN=s3cr3t false"]),
            "`•••• false`",
        ),
        (
            "user-info-endpoint",
            strings(&[
                "--auth-endpoint",
                &endpoint,
                "--user-auth-endpoint",
                &endpoint,
            ]),
            "",
        ),
    ];
    let mut all_records = Vec::new();
    for (name, extra, command) in cases {
        let record = dir.path().join(format!("{name}.ndjson"));
        let mut args = host_args(&server);
        args.extend(extra);
        args.extend(strings(&["-s", "private-chat"]));
        let mut headless = strings(&["--headless", "--record", record.to_str().unwrap()]);
        headless.extend(args.iter().cloned());
        let r = run(
            dir.path(),
            name,
            &headless,
            &[],
            live(&["private-chat"], false),
        )
        .await;
        assert!(r.ok, "{name}: {}", r.context());
        r.assert_clean(name, &forbidden);
        let recorded = std::fs::read_to_string(&record).unwrap();
        assert!(recorded.lines().count() > 2, "{name}: {recorded}");
        assert_clean(&format!("{name}: --record file"), &recorded, &forbidden);
        let auth = r.of_type("auth");
        assert!(!auth.is_empty(), "{name}: {}", r.context());
        for a in &auth {
            assert_eq!(a["ok"], false, "{name}: {a}");
            if command.is_empty() {
                let url = a["request"]["url"].as_str().unwrap_or_default();
                assert!(
                    url.starts_with("http://••••@127.0.0.1:") && url.ends_with("/p/route/auth"),
                    "{name}: {a}"
                );
            } else {
                assert_eq!(a["request"]["command"], command, "{name}: {a}");
            }
        }
        assert!(
            !r.of_type("subscription_error").is_empty(),
            "{name}: {}",
            r.context()
        );
        all_records.extend(r.records);

        let mut print = args.clone();
        print.push("--print-config".into());
        let p = run(
            dir.path(),
            &format!("{name}-print"),
            &print,
            &[],
            Script::Exits,
        )
        .await;
        assert!(p.ok, "{name} --print-config: {}", p.context());
        p.assert_clean(&format!("{name} --print-config"), &forbidden);
        assert!(p.stdout.contains("[auth]"), "{name}: {}", p.stdout);
    }
    render_records_in_app(&all_records, &forbidden, 4);
}

/// The secret and the master key can come from files instead of the command line; a file
/// that cannot be read or holds no header is a configuration error naming the flag and the
/// file, never quoting what it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_files_work_and_bad_ones_are_named() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let forbidden = forbidden(&server);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let master = dir.path().join("master-key");
    std::fs::write(&master, format!("{}\n", master_key_b64())).unwrap();
    let mut args = host_args(&server);
    args.extend(strings(&[
        "--secret-file",
        secret.to_str().unwrap(),
        "--encryption-master-key-file",
        master.to_str().unwrap(),
        "--app-id",
        server.app_id(),
    ]));
    args.extend(subscribe_args());
    let mut headless = vec!["--headless".to_string()];
    headless.extend(args.iter().cloned());
    let r = run(dir.path(), "files", &headless, &[], live(PRIVATE, true)).await;
    assert!(r.ok, "{}", r.context());
    r.assert_clean("secret files", &forbidden);
    assert_signed("secret files", &r);
    assert!(
        r.records
            .iter()
            .any(|v| v["type"] == "event" && v["decrypted"] == true),
        "the master key from the file decrypts the vault\n{}",
        r.context()
    );
    let mut print = args.clone();
    print.push("--print-config".into());
    let p = run(dir.path(), "files-print", &print, &[], Script::Exits).await;
    assert!(p.ok, "{}", p.context());
    p.assert_clean("secret files --print-config", &forbidden);
    assert!(
        p.stdout.contains("secret = \"••••") && p.stdout.contains("encryption_master_key = \"••••"),
        "{}",
        p.stdout
    );

    // The master key from the environment works the same way.
    let mut by_env = host_args(&server);
    by_env.extend(subscribe_args());
    let mk = master_key_b64();
    let env = [
        ("PUSHER_APP_SECRET", SECRET),
        ("PUSHER_ENCRYPTION_MASTER_KEY", mk.as_str()),
    ];
    let mut headless = vec!["--headless".to_string()];
    headless.extend(by_env);
    let r = run(
        dir.path(),
        "env-master-key",
        &headless,
        &env,
        live(PRIVATE, false),
    )
    .await;
    assert!(r.ok, "{}", r.context());
    r.assert_clean("master key from the environment", &forbidden);
    assert_signed("master key from the environment", &r);

    let missing = dir.path().join("no-such-file");
    let bad_headers = dir.path().join("bad-headers.txt");
    std::fs::write(
        &bad_headers,
        format!("Accept: text/plain\nBearer {BEARER}\n"),
    )
    .unwrap();
    for (name, flag, path, needle) in [
        (
            "missing secret file",
            "--secret-file",
            &missing,
            "cannot read it",
        ),
        (
            "missing master key file",
            "--encryption-master-key-file",
            &missing,
            "cannot read it",
        ),
        (
            "missing header file",
            "--auth-header-file",
            &missing,
            "cannot read it",
        ),
        (
            "header file with a line that is no header",
            "--auth-header-file",
            &bad_headers,
            "line 2",
        ),
    ] {
        let args = strings(&[
            "--headless",
            "--host",
            "127.0.0.1",
            "--key",
            "k",
            "--auth-endpoint",
            "http://127.0.0.1:1/auth",
            flag,
            path.to_str().unwrap(),
        ]);
        let r = run(dir.path(), name, &args, &[], Script::Exits).await;
        assert!(!r.ok, "{name}: must fail\n{}", r.context());
        let shown = path.display().to_string();
        assert!(
            r.stderr.contains(flag) && r.stderr.contains(&shown) && r.stderr.contains(needle),
            "{name}: {}",
            r.stderr
        );
        r.assert_clean(name, &forbidden);
    }
}

/// Recordings (`--record`) of sessions that used every kind of credential: the secret
/// (local signing, the signed HTTP API) with the encryption master key, and (the master key
/// goes only with local signing) an auth endpoint reached with a bearer header and an auth
/// param. The files hold none of them, and are their owner's only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_holds_no_credential() {
    let server = server().await;
    let _traffic = server.start_traffic();
    let mut forbidden = forbidden(&server);
    forbidden.push(PARAM_TOKEN.to_string());
    let dir = tempfile::tempdir().unwrap();
    let mk = master_key_b64();
    let local = strings(&["--encryption-master-key", &mk]);
    let endpoint = strings(&[
        "--auth-endpoint",
        &server.auth_endpoint(),
        "--auth-header",
        &format!("Authorization: Bearer {BEARER}"),
        "--auth-param",
        &format!("token={PARAM_TOKEN}"),
    ]);
    // What shows that each session really used its credentials.
    let local_uses = [r#""type":"auth""#, r#""decrypted":true"#];
    let endpoint_uses = [r#""type":"auth""#, "Authorization", r#""token":"#];
    for (name, extra, uses) in [
        ("local", local, &local_uses[..]),
        ("endpoint", endpoint, &endpoint_uses[..]),
    ] {
        let recording = dir.path().join(format!("{name}.ndjson"));
        let mut args = vec!["--headless".to_string()];
        args.extend(host_args(&server));
        args.extend(strings(&["--secret", SECRET, "--app-id", server.app_id()]));
        args.extend(extra);
        args.extend(strings(&["--record", recording.to_str().unwrap()]));
        args.extend(subscribe_args());
        let r = run(dir.path(), name, &args, &[], live(PRIVATE, true)).await;
        assert!(r.ok, "{name}: {}", r.context());
        assert_signed(name, &r);
        r.assert_clean(name, &forbidden);
        let text = std::fs::read_to_string(&recording).expect("the recording was written");
        let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(header["type"], "chanwatch_recording", "{header}");
        // The signed publishes and listings are recorded too.
        for needle in uses
            .iter()
            .chain(&[r#""type":"published""#, r#""type":"users""#])
        {
            assert!(
                text.contains(needle),
                "{name}: {needle} not in the recording"
            );
        }
        assert_clean(&format!("the {name} recording"), &text, &forbidden);
        #[cfg(unix)]
        assert_owner_only(&recording);
    }
}

/// `--record` over a file that already exists (here world-readable, from an earlier run or
/// made by hand) leaves it its owner's only, like a new one.
///
/// Fails on the code of this branch alone: the mode is set only when the file is created.
/// Making the rule hold for an existing file is done in parallel; it passes once merged.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_over_an_existing_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("old.ndjson");
    std::fs::write(&recording, "an older recording\n").unwrap();
    std::fs::set_permissions(&recording, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = vec!["--headless".to_string()];
    args.extend(host_args(&server));
    args.extend(strings(&[
        "--secret",
        SECRET,
        "--app-id",
        server.app_id(),
        "--record",
        recording.to_str().unwrap(),
        "-s",
        "private-chat",
    ]));
    let r = run(
        dir.path(),
        "rerecorded",
        &args,
        &[],
        live(&["private-chat"], false),
    )
    .await;
    assert!(r.ok, "{}", r.context());
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(
        text.starts_with(r#"{"type":"chanwatch_recording""#),
        "the old content was replaced: {text}"
    );
    assert_clean("the recording", &text, &[SECRET.to_string()]);
    assert_owner_only(&recording);
}
