//! From flags, a config file and an environment to a session: which source wins, which
//! authorizer is built, and what the errors say.

use super::*;
use chanwatch_core::connection::AuthRequest;
use clap::Parser;
use std::collections::HashMap;

const MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("chanwatch").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// A session from `file` (written as the default config file of a fresh directory, absent
/// when `None`), `env` and `args`, with the merged settings it was built from.
fn session(
    file: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Result<(Setup, Settings), SetupError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
    }
    let cli = cli(args);
    let loaded = load(&cli, env_of(env), Some(path))?;
    let setup = build(&cli, &loaded.settings)?;
    Ok((setup, loaded.settings))
}

fn settings(file: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Settings {
    match session(file, env, args) {
        Ok((_, s)) => s,
        Err(e) => panic!("{file:?} {env:?} {args:?}: {e}"),
    }
}

fn error(file: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> SetupError {
    match session(file, env, args) {
        Ok(_) => panic!("{file:?} {env:?} {args:?} should fail"),
        Err(e) => e,
    }
}

fn req(channel: &str) -> AuthRequest {
    AuthRequest {
        channel: channel.into(),
        socket_id: "123.456".into(),
    }
}

// ---- which source wins ----

/// One value settable in the file, (maybe) the environment and on the command line.
struct Case {
    name: &'static str,
    file: &'static str,
    env: Option<(&'static str, &'static str)>,
    cli: &'static [&'static str],
    get: fn(&Setup) -> String,
    /// The value read back when the file, the environment or the command line wins.
    expect: [&'static str; 3],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "key",
            file: "key = \"filekey\"",
            env: Some(("PUSHER_APP_KEY", "envkey")),
            cli: &["--key", "clikey"],
            get: |s| s.client.machine.endpoint.key.clone(),
            expect: ["filekey", "envkey", "clikey"],
        },
        Case {
            name: "host",
            file: "host = \"file.example\"",
            env: Some(("PUSHER_HOST", "env.example")),
            cli: &["--host", "cli.example"],
            get: |s| format!("{} {}", s.client.machine.endpoint.host, s.dashboard.host),
            expect: [
                "file.example file.example",
                "env.example env.example",
                "cli.example cli.example",
            ],
        },
        Case {
            name: "ws_port",
            file: "ws_port = 6001",
            env: Some(("PUSHER_PORT", "6002")),
            cli: &["--ws-port", "6003"],
            get: |s| s.client.machine.endpoint.ws_port.to_string(),
            expect: ["6001", "6002", "6003"],
        },
        Case {
            name: "tls",
            file: "tls = true",
            env: Some(("PUSHER_TLS", "false")),
            cli: &["--tls"],
            get: |s| format!("{} {}", s.client.machine.endpoint.tls, s.dashboard.tls),
            expect: ["true true", "false false", "true true"],
        },
        Case {
            name: "activity_timeout",
            file: "activity_timeout = \"7s\"",
            env: None,
            cli: &["--activity-timeout", "9s"],
            get: |s| format!("{:?}", s.client.machine.activity_timeout),
            expect: ["7s", "", "9s"],
        },
        Case {
            name: "subscribe",
            file: "subscribe = [\"file-a\", \"file-b\"]",
            env: None,
            cli: &["-s", "cli-a"],
            get: |s| s.client.subscribe.join(","),
            expect: ["file-a,file-b", "", "cli-a"],
        },
        Case {
            name: "log_ring",
            file: "log_ring = 50",
            env: None,
            cli: &["--log-ring", "70"],
            get: |s| s.log_ring.to_string(),
            expect: ["50", "", "70"],
        },
        Case {
            name: "measures",
            file: "measures = { probe = \"2s\", stats_interval = \"10s\" }",
            env: None,
            cli: &["--probe", "3s", "--stats-interval", "4s"],
            get: |s| format!("{:?} {:?}", s.measures.probe, s.measures.stats_interval),
            expect: ["Some(Every(2s)) Some(10s)", "", "Some(Every(3s)) Some(4s)"],
        },
        Case {
            name: "measures",
            file: "measures = { probe = \"2s\", show_probe = true }",
            env: None,
            cli: &["--no-probe"],
            get: |s| format!("{:?}", s.measures.probe),
            expect: ["Some(Every(2s))", "", "Some(Off)"],
        },
        Case {
            name: "api",
            file: "app_id = \"1\"\nsecret = \"filesecret\"",
            env: Some(("PUSHER_APP_ID", "2")),
            cli: &["--app-id", "3"],
            get: |s| s.api.as_ref().map(|a| a.app_id.clone()).unwrap_or_default(),
            expect: ["1", "2", "3"],
        },
    ]
}

#[test]
fn file_then_environment_then_command_line() {
    for case in cases() {
        // Every other required value comes from the file, so that each subset resolves.
        let mut base = vec!["key = \"basekey\"", "host = \"base.example\""];
        base.retain(|line| !line.starts_with(case.name));
        for subset in 1..8u8 {
            let (in_file, in_env, in_cli) = (subset & 1 != 0, subset & 2 != 0, subset & 4 != 0);
            if in_env && case.env.is_none() {
                continue;
            }
            let mut file = base.join("\n");
            if in_file {
                file = format!("{}\n{file}", case.file);
            }
            let env: Vec<(&str, &str)> = case.env.filter(|_| in_env).into_iter().collect();
            let args: &[&str] = if in_cli { case.cli } else { &[] };
            let winner = if in_cli {
                2
            } else if in_env {
                1
            } else {
                0
            };
            if !in_file && !in_env && !in_cli {
                continue;
            }
            let (setup, _) = session(Some(&file), &env, args)
                .unwrap_or_else(|e| panic!("{} {subset}: {e}", case.name));
            // The api case needs the secret, which only the file gives: without the file it
            // has no HTTP API at all.
            let expect = if case.name == "api" && !in_file {
                ""
            } else {
                case.expect[winner]
            };
            assert_eq!(
                (case.get)(&setup),
                expect,
                "{} file={in_file} env={in_env} cli={in_cli}",
                case.name
            );
        }
    }
}

#[test]
fn profile_from_the_flag_or_the_file_and_the_url_flag() {
    let file = r#"
default_profile = "a"
key = "basekey"
[profiles.a]
host = "a.example"
[profiles.b]
host = "b.example"
"#;
    assert_eq!(settings(Some(file), &[], &[]).host, "a.example");
    assert_eq!(
        settings(Some(file), &[], &["--profile", "b"]).host,
        "b.example"
    );
    let s = settings(
        Some(file),
        &[],
        &[
            "--url",
            "pusher://urlkey:urlsecret@127.0.0.1:6001/apps/9",
            "--key",
            "clikey",
        ],
    );
    assert_eq!(
        (
            s.key.as_str(),
            s.host.as_str(),
            s.ws_port,
            s.tls,
            s.app_id.as_deref()
        ),
        ("clikey", "127.0.0.1", 6001, false, Some("9"))
    );
    assert_eq!(s.secret.unwrap().expose(), "urlsecret");
}

#[test]
fn an_explicit_config_file_must_exist() {
    let err = error(None, &[], &["--config", "/nonexistent/chanwatch.toml"]);
    assert!(matches!(err, SetupError::Config(_)), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/chanwatch.toml"),
        "{err}"
    );
    let err = error(
        None,
        &[("CHANWATCH_CONFIG", "/nonexistent/env.toml")],
        &["--key", "k"],
    );
    assert!(err.to_string().contains("/nonexistent/env.toml"), "{err}");
}

// ---- what gets built ----

#[test]
fn client_dashboard_and_log_ring() {
    let (setup, _) = session(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "127.0.0.1",
            "--no-tls",
            "--ws-port",
            "6001",
            "-s",
            "news",
            "--path",
            "/ws",
        ],
    )
    .unwrap();
    let m = &setup.client.machine;
    assert_eq!(
        (m.endpoint.host.as_str(), m.endpoint.ws_port, m.endpoint.tls),
        ("127.0.0.1", 6001, false)
    );
    assert_eq!(m.endpoint.path, "/ws");
    assert!(!m.signin);
    assert_eq!(setup.client.subscribe, ["news"]);
    assert!(setup.client.auto_connect);
    assert_eq!(
        (
            setup.dashboard.host.as_str(),
            setup.dashboard.key.as_str(),
            setup.dashboard.tls,
            setup.dashboard.demo
        ),
        ("127.0.0.1", "k", false, false)
    );
    assert_eq!(setup.log_ring, crate::config::DEFAULT_LOG_RING);
    assert!(setup.api.is_none(), "no app id, no secret");
}

#[test]
fn http_api_where_the_settings_say() {
    let (setup, _) = session(
        None,
        &[],
        &["--url", "pusher://k:s@127.0.0.1:6001/apps/app1"],
    )
    .unwrap();
    let api = setup.api.expect("app id and secret are known");
    assert_eq!(
        (api.base_url.as_str(), api.app_id.as_str(), api.key.as_str()),
        ("http://127.0.0.1:6001", "app1", "k")
    );
    assert_eq!(api.secret, "s");

    let (setup, _) = session(
        None,
        &[("PUSHER_APP_SECRET", "s")],
        &["--key", "k", "--cluster", "eu", "--app-id", "7"],
    )
    .unwrap();
    assert_eq!(setup.api.unwrap().base_url, "https://api-eu.pusher.com:443");

    let (setup, _) = session(
        Some("[api]\nhost = \"::1\"\nport = 8080\ntls = false\n"),
        &[],
        &[
            "--key", "k", "--host", "h", "--app-id", "7", "--secret", "s",
        ],
    )
    .unwrap();
    assert_eq!(setup.api.unwrap().base_url, "http://[::1]:8080");

    let (setup, _) = session(None, &[], &["--key", "k", "--host", "h", "--app-id", "7"]).unwrap();
    assert!(setup.api.is_none(), "no secret");
}

#[tokio::test]
async fn local_signing_with_the_master_key() {
    let (setup, s) = session(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "h",
            "--secret",
            "sec",
            "--user-id",
            "u1",
            "--encryption-master-key",
            MASTER,
        ],
    )
    .unwrap();
    let Authorizer::Local(signer) =
        channel_authorizer(&s, Some(MASTER), &chanwatch_core::tls::default_config()).unwrap()
    else {
        panic!("expected local signing");
    };
    assert!(signer.has_master_key());
    assert_eq!(signer.user_id(), "u1");
    let grant = setup
        .auth
        .authorize(req("private-encrypted-x"))
        .await
        .unwrap();
    assert_eq!(
        grant.auth,
        (chanwatch_core::auth::channel_auth("k", "sec", "123.456", "private-encrypted-x", None))
    );
    assert!(grant.shared_secret.is_some());

    // Without the master key, encrypted channels are refused with advice.
    let (setup, _) = session(None, &[], &["--key", "k", "--host", "h", "--secret", "sec"]).unwrap();
    let failure = setup
        .auth
        .authorize(req("private-encrypted-x"))
        .await
        .unwrap_err();
    assert!(
        failure.message.contains("--encryption-master-key"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn the_master_key_can_come_from_the_config_file() {
    let file = format!(
        "key = \"k\"\nhost = \"h\"\nsecret = \"sec\"\n[auth]\nencryption_master_key = \"{MASTER}\"\n"
    );
    let (setup, s) = session(Some(&file), &[], &[]).unwrap();
    let grant = setup
        .auth
        .authorize(req("private-encrypted-x"))
        .await
        .unwrap();
    let expected =
        chanwatch_core::crypto::shared_secret_for("private-encrypted-x", MASTER).unwrap();
    assert_eq!(grant.shared_secret.as_deref(), Some(expected.as_str()));
    // Masked wherever the settings are shown.
    assert!(!format!("{s:?}").contains(MASTER));
    assert!(!s.to_masked_toml().contains(MASTER));
}

#[test]
fn master_key_errors_never_show_the_key() {
    let bad = "c2hvcnQta2V5LXZhbHVl";
    let err = error(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "h",
            "--secret",
            "s",
            "--encryption-master-key",
            bad,
        ],
    )
    .to_string();
    assert!(err.starts_with("--encryption-master-key: "), "{err}");
    assert!(!err.contains(bad), "{err}");
    let err = error(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "h",
            "--auth-endpoint",
            "http://127.0.0.1:1/auth",
            "--encryption-master-key",
            MASTER,
        ],
    )
    .to_string();
    assert!(err.contains("only used when signing locally"), "{err}");
}

#[test]
fn endpoint_and_command_authorizers() {
    let file = r#"
key = "k"
host = "h"
[auth]
endpoint = "http://127.0.0.1:9000/auth"
transport = "jsonp"
params = { team = "blue" }
timeout = "3s"
"#;
    let s = settings(Some(file), &[], &[]);
    let Authorizer::Endpoint(e) =
        channel_authorizer(&s, None, &chanwatch_core::tls::default_config()).unwrap()
    else {
        panic!("expected the endpoint");
    };
    assert_eq!(e.url().as_str(), "http://127.0.0.1:9000/auth");
    assert_eq!(e.transport(), chanwatch_core::auth::AuthTransport::Jsonp);
    assert_eq!(e.params(), [("team".to_string(), "blue".to_string())]);
    assert_eq!(e.timeout(), Duration::from_secs(3));

    // Headers cannot travel with JSONP: refused, naming the key and the flag.
    let err = error(Some(file), &[], &["--auth-header", "X-A: 1"]).to_string();
    assert!(err.starts_with("auth (--auth-endpoint): "), "{err}");
    assert!(err.contains("jsonp"), "{err}");

    // The command line replaces the file's way to authorize.
    let s = settings(Some(file), &[], &["--auth-command", "./auth.sh --prod"]);
    let Authorizer::Command(c) =
        channel_authorizer(&s, None, &chanwatch_core::tls::default_config()).unwrap()
    else {
        panic!("expected the command");
    };
    assert_eq!(c.timeout(), Duration::from_secs(3));

    let s = settings(Some("key = \"k\"\nhost = \"h\"\n"), &[], &[]);
    assert!(matches!(
        channel_authorizer(&s, None, &chanwatch_core::tls::default_config()).unwrap(),
        Authorizer::None
    ));
}

#[tokio::test]
async fn an_argument_vector_runs_as_exactly_those_arguments() {
    assert_eq!(
        shell_line(&ExternalCommand::Argv(vec![
            "printf".into(),
            "%s".into(),
            "it's a $HOME".into(),
            String::new()
        ])),
        r#"printf %s 'it'\''s a $HOME' ''"#
    );
    // The real shell sees the argument unsplit and unexpanded.
    let file = r#"
key = "k"
host = "h"
[auth]
command = ["printf", "%s", "{\"auth\":\"k:it's $HOME\"}"]
"#;
    let s = settings(Some(file), &[], &[]);
    let authorizer = channel_authorizer(&s, None, &chanwatch_core::tls::default_config()).unwrap();
    let grant = tokio::time::timeout(
        Duration::from_secs(30),
        authorizer.authorize(&req("private-x")),
    )
    .await
    .expect("bounded")
    .unwrap();
    assert_eq!(grant.auth, "k:it's $HOME");
}

#[tokio::test]
async fn sign_in_locally_endpoint_or_not_at_all() {
    let (setup, _) = session(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "h",
            "--secret",
            "sec",
            "--user-data",
            r#"{"id":"alice"}"#,
        ],
    )
    .unwrap();
    assert!(setup.client.machine.signin);
    let grant = setup.auth.authenticate_user("1.2".into()).await.unwrap();
    assert_eq!(grant.user_data, r#"{"id":"alice"}"#);
    assert_eq!(
        grant.auth,
        format!(
            "k:{}",
            chanwatch_core::auth::hmac_hex("sec", r#"1.2::user::{"id":"alice"}"#)
        )
    );

    let s = settings(
        None,
        &[],
        &[
            "--key",
            "k",
            "--host",
            "h",
            "--user-auth-endpoint",
            "http://127.0.0.1:9/user",
        ],
    );
    assert!(matches!(
        user_authenticator(&s, &chanwatch_core::tls::default_config()).unwrap(),
        UserAuthenticator::Endpoint(_)
    ));

    // The file configures sign-in without enabling it; --signin turns it on.
    let file = "key = \"k\"\nhost = \"h\"\n[user_auth]\ncommand = \"./user.sh\"\n";
    let (setup, _) = session(Some(file), &[], &[]).unwrap();
    assert!(!setup.client.machine.signin);
    let (setup, _) = session(Some(file), &[], &["--signin"]).unwrap();
    assert!(setup.client.machine.signin);

    let err = error(None, &[], &["--key", "k", "--host", "h", "--signin"]).to_string();
    assert!(err.contains("user_auth"), "{err}");
}

// ---- errors ----

#[test]
fn file_errors_name_the_file_and_line() {
    let err = error(
        Some("key = \"k\"\nhost = \"h\"\nactivty_timeout = \"1s\"\n"),
        &[],
        &[],
    );
    assert!(matches!(err, SetupError::Config(_)));
    let text = err.to_string();
    assert!(text.contains("config.toml:3"), "{text}");
    assert!(text.contains("activty_timeout"), "{text}");
}

#[test]
fn measures_intervals_below_their_floor_are_file_errors() {
    for (line, key) in [
        ("occupancy_interval = \"1ms\"", "occupancy_interval"),
        ("stats_interval = \"500ms\"", "stats_interval"),
    ] {
        let err = error(
            Some(&format!("key = \"k\"\nhost = \"h\"\n[measures]\n{line}\n")),
            &[],
            &[],
        );
        assert!(matches!(err, SetupError::Config(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("config.toml:4"), "{text}");
        assert!(text.contains(key), "{text}");
        assert!(text.contains("must be at least 1s"), "{text}");
    }
}

#[test]
fn missing_key_and_server_name_every_source() {
    let text = error(None, &[], &["--host", "h"]).to_string();
    for name in ["--key", "PUSHER_APP_KEY", "key"] {
        assert!(text.contains(name), "{name}: {text}");
    }
    let text = error(None, &[], &["--key", "k"]).to_string();
    for name in ["--host", "--cluster", "PUSHER_HOST"] {
        assert!(text.contains(name), "{name}: {text}");
    }
    let text = error(
        None,
        &[],
        &["--key", "k", "--host", "h", "--profile", "nope"],
    )
    .to_string();
    assert!(text.contains("nope"), "{text}");
}

#[test]
fn a_bad_url_is_reported_without_its_secret() {
    let text = error(None, &[], &["--url", "ws://key:hunter2@h/apps/1"]).to_string();
    assert!(text.starts_with("--url: "), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn configuration_errors_are_recognisable_through_anyhow() {
    let e: anyhow::Error = error(None, &[], &["--host", "h"]).into();
    assert!(is_config_error(&e));
    assert!(!is_config_error(&anyhow::anyhow!("connection refused")));
}

#[test]
fn print_config_masks_secrets_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "key = \"filekey\"\nhost = \"h\"\nsecret = \"0123456789abcdef\"\n",
    )
    .unwrap();
    let text = print_config_with(
        &cli(&["--ws-port", "6001", "--encryption-master-key", MASTER]),
        env_of(&[("PUSHER_APP_ID", "5")]),
        Some(path.clone()),
    )
    .unwrap();
    assert!(text.contains(&config::display_path(&path)), "{text}");
    assert!(text.contains("key = \"filekey\""), "{text}");
    assert!(text.contains("ws_port = 6001"), "{text}");
    assert!(text.contains("app_id = \"5\""), "{text}");
    assert!(
        !text.contains("0123456789abcdef") && !text.contains(MASTER),
        "{text}"
    );
    assert!(text.contains("encryption master key"), "{text}");
}

#[test]
fn secrets_and_headers_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    // One trailing line break is the editor's; a space inside is the secret's.
    std::fs::write(&secret, "s3cr3t with space\r\n").unwrap();
    let master = dir.path().join("master");
    std::fs::write(&master, format!("{MASTER}\n")).unwrap();
    let headers = dir.path().join("headers");
    std::fs::write(
        &headers,
        "X-Team-Token: from-file\nAccept: text/plain\n# comment\n",
    )
    .unwrap();
    let s = settings(
        None,
        &[],
        &[
            "--host",
            "h",
            "--key",
            "k",
            "--secret-file",
            secret.to_str().unwrap(),
            "--encryption-master-key-file",
            master.to_str().unwrap(),
        ],
    );
    assert_eq!(s.secret.unwrap().expose(), "s3cr3t with space");
    assert_eq!(s.auth.encryption_master_key.unwrap().expose(), MASTER);

    let s = settings(
        Some("[user_auth]\nheaders = { X-Old = \"file\" }\n"),
        &[],
        &[
            "--host",
            "h",
            "--key",
            "k",
            "--auth-endpoint",
            "http://127.0.0.1:1/auth",
            "--auth-header-file",
            headers.to_str().unwrap(),
            "--auth-header",
            "Accept: application/json",
            "--user-auth-header-file",
            headers.to_str().unwrap(),
            "--user-auth-header",
            "X-From-Flag: flag",
            "--user-auth-header",
            "Accept: application/json",
        ],
    );
    // The flag wins over the file for the same name; the file's others stay.
    assert_eq!(
        s.auth.headers.to_vec(),
        [
            ("Accept".to_string(), "application/json".to_string()),
            ("X-Team-Token".to_string(), "from-file".to_string()),
        ]
    );
    // The user-auth header file is a layer over the config file's headers, and the flags
    // are a layer over it.
    let user: Vec<(String, String)> = s.user_auth.headers.to_vec();
    assert_eq!(user.len(), 4, "{user:?}");
    let value = |name: &str| {
        user.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("X-From-Flag"), Some("flag"));
    assert_eq!(value("Accept"), Some("application/json"), "the flag wins");
    assert_eq!(value("X-Old"), Some("file"));
    assert!(!s.user_auth.enabled, "headers alone do not turn sign-in on");
}

#[test]
fn secret_and_header_files_are_read_with_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    // One byte over the cap, as a sparse file; and a file that never ends.
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(chanwatch_core::input_file::SECRET_CAP + 1)
        .unwrap();
    let zero = std::path::PathBuf::from("/dev/zero");
    for path in [&big, &zero] {
        for flag in [
            "--secret-file",
            "--encryption-master-key-file",
            "--auth-header-file",
            "--user-auth-header-file",
        ] {
            let e = error(
                None,
                &[],
                &["--host", "h", "--key", "k", flag, path.to_str().unwrap()],
            );
            assert!(matches!(e, SetupError::SecretFile { .. }), "{e:?}");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{flag} {}: ", path.display()))
                    && shown.contains("larger than 1 MiB"),
                "{shown}"
            );
        }
    }
}

#[test]
fn unreadable_secret_files_are_config_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    for (flag, path, needle) in [
        ("--secret-file", &missing, "cannot read it"),
        ("--secret-file", &empty, "empty"),
        ("--encryption-master-key-file", &missing, "cannot read it"),
        ("--auth-header-file", &missing, "cannot read it"),
        ("--user-auth-header-file", &missing, "cannot read it"),
    ] {
        let e = error(
            None,
            &[],
            &["--host", "h", "--key", "k", flag, path.to_str().unwrap()],
        );
        assert!(matches!(e, SetupError::SecretFile { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{flag} {}: ", path.display())) && shown.contains(needle),
            "{shown}"
        );
    }
}
