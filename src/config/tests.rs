//! Layering, aliases, file errors and masking, through the public functions.

use super::*;
use chanwatch_core::auth::AuthTransport;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const PATH: &str = "/etc/chanwatch/config.toml";

fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
    ConfigFile::parse(text, Path::new(PATH))
}

fn parse_err(text: &str) -> String {
    parse(text).expect_err(text).to_string()
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// Runs [`load`] against a config file holding `text` in a fresh temporary directory.
fn load_text(
    text: Option<&str>,
    profile: Option<&str>,
    env: &[(&str, &str)],
    cli: Layer,
) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    if let Some(text) = text {
        std::fs::write(&path, text).unwrap();
    }
    load(
        LoadOptions {
            config: None,
            profile: profile.map(str::to_string),
            cli,
            default_path: Some(path),
        },
        env_of(env),
    )
}

// ---- layering: every subset of the four sources, for several keys ----

/// One key set in up to four places. `get` reads the resolved value back as text.
struct KeyCase {
    name: &'static str,
    base: &'static str,
    profile: &'static str,
    env: Option<(&'static str, &'static str)>,
    cli: fn(&mut Layer),
    get: fn(&Settings) -> String,
    /// The value read back when base, profile, env or CLI wins.
    expect: [&'static str; 4],
    /// The value read back when no source sets it (an `Err:` prefix: resolving fails).
    default: &'static str,
}

fn key_cases() -> Vec<KeyCase> {
    vec![
        KeyCase {
            name: "key",
            base: "key = \"basekey\"",
            profile: "key = \"profilekey\"",
            env: Some(("PUSHER_APP_KEY", "envkey")),
            cli: |l| l.key = Some("clikey".into()),
            get: |s| s.key.clone(),
            expect: ["basekey", "profilekey", "envkey", "clikey"],
            default: "Err:no app key",
        },
        KeyCase {
            name: "host",
            base: "host = \"base.example\"",
            profile: "wsHost = \"profile.example\"",
            env: Some(("PUSHER_HOST", "env.example")),
            cli: |l| l.host = Some("cli.example".into()),
            get: |s| s.host.clone(),
            expect: [
                "base.example",
                "profile.example",
                "env.example",
                "cli.example",
            ],
            default: "ws-mt1.pusher.com",
        },
        KeyCase {
            name: "cluster",
            base: "cluster = \"eu\"",
            profile: "cluster = \"us2\"",
            env: Some(("PUSHER_CLUSTER", "ap1")),
            cli: |l| l.cluster = Some("sa1".into()),
            get: |s| format!("{:?}", s.cluster),
            expect: [
                "Some(\"eu\")",
                "Some(\"us2\")",
                "Some(\"ap1\")",
                "Some(\"sa1\")",
            ],
            default: "Err:no server",
        },
        KeyCase {
            name: "secret",
            base: "secret = \"basesecret\"",
            profile: "secret = \"profilesecret\"",
            env: Some(("PUSHER_APP_SECRET", "envsecret")),
            cli: |l| l.secret = Some(Secret::new("clisecret").unwrap()),
            get: |s| {
                s.secret
                    .as_ref()
                    .map_or("none".into(), |s| s.expose().to_string())
            },
            expect: ["basesecret", "profilesecret", "envsecret", "clisecret"],
            default: "none",
        },
        KeyCase {
            name: "app_id",
            base: "app_id = 1",
            profile: "appId = \"2\"",
            env: Some(("PUSHER_APP_ID", "3")),
            cli: |l| l.app_id = Some("4".into()),
            get: |s| format!("{:?}", s.app_id),
            expect: ["Some(\"1\")", "Some(\"2\")", "Some(\"3\")", "Some(\"4\")"],
            default: "None",
        },
        KeyCase {
            name: "tls",
            base: "tls = false",
            profile: "forceTLS = true",
            env: Some(("PUSHER_TLS", "off")),
            cli: |l| l.tls = Some(true),
            get: |s| s.tls.to_string(),
            expect: ["false", "true", "false", "true"],
            default: "true",
        },
        KeyCase {
            name: "ws_port",
            base: "ws_port = 6001",
            profile: "wsPort = 6002",
            env: Some(("PUSHER_PORT", "6003")),
            cli: |l| l.ws_port = Some(6004),
            get: |s| s.ws_port.to_string(),
            expect: ["6001", "6002", "6003", "6004"],
            default: "80",
        },
        KeyCase {
            name: "auth.endpoint",
            base: "authEndpoint = \"http://base.example/auth\"",
            profile: "[profiles.local.auth]\nendpoint = \"http://profile.example/auth\"",
            env: Some(("PUSHER_AUTH_ENDPOINT", "http://env.example/auth")),
            cli: |l| {
                l.auth = Some(AuthLayer {
                    endpoint: Some(AuthUrl::parse("http://cli.example/auth").unwrap()),
                    ..AuthLayer::default()
                })
            },
            get: |s| {
                s.auth
                    .endpoint
                    .as_ref()
                    .map_or("none".into(), |u| u.to_string())
            },
            expect: [
                "http://base.example/auth",
                "http://profile.example/auth",
                "http://env.example/auth",
                "http://cli.example/auth",
            ],
            default: "none",
        },
        KeyCase {
            name: "activity_timeout",
            base: "activity_timeout = \"1m\"",
            profile: "activity_timeout = \"45s\"",
            env: None,
            cli: |l| l.activity_timeout = Some(Duration::from_millis(1500)),
            get: |s| format!("{:?}", s.activity_timeout),
            expect: ["60s", "45s", "-", "1.5s"],
            default: "120s",
        },
        KeyCase {
            name: "subscribe",
            base: "subscribe = [\"a\", \"b\"]",
            profile: "subscribe = [\"presence-p\"]",
            env: None,
            cli: |l| l.subscribe = Some(vec!["private-c".into()]),
            get: |s| s.subscribe.join(","),
            expect: ["a,b", "presence-p", "-", "private-c"],
            default: "",
        },
        KeyCase {
            name: "auth.timeout",
            base: "[auth]\ntimeout = \"3s\"",
            profile: "[profiles.local.channelAuthorization]\ntimeout = \"4s\"",
            env: None,
            cli: |l| {
                l.auth = Some(AuthLayer {
                    timeout: Some(Duration::from_secs(5)),
                    ..AuthLayer::default()
                })
            },
            get: |s| format!("{:?}", s.auth.timeout),
            expect: ["3s", "4s", "-", "5s"],
            default: "10s",
        },
        KeyCase {
            name: "log_ring",
            base: "log_ring = 100",
            profile: "log_ring = 200",
            env: None,
            cli: |l| l.log_ring = Some(300),
            get: |s| s.log_ring.to_string(),
            expect: ["100", "200", "-", "300"],
            default: "10000",
        },
    ]
}

/// Keeps the file resolvable whichever key is under test.
fn floor(case: &str) -> String {
    let mut lines = Vec::new();
    if case != "key" {
        lines.push("key = \"floorkey\"");
    }
    if case != "cluster" {
        lines.push("cluster = \"mt1\"");
    }
    lines.join("\n")
}

#[test]
fn each_source_wins_over_the_ones_below_it() {
    for case in key_cases() {
        for mask in 0u8..16 {
            let set = |i: u8| mask & (1 << i) != 0;
            if set(2) && case.env.is_none() {
                continue;
            }
            // Top-level lines first: a table header would capture them otherwise.
            let (base_top, base_table) = if case.base.starts_with('[') {
                ("", case.base)
            } else {
                (case.base, "")
            };
            let mut text = floor(case.name);
            if set(0) {
                text = format!("{base_top}\n{text}\n{base_table}");
            }
            text.push_str("\n[profiles.local]\n");
            if set(1) {
                text.push_str(case.profile);
                text.push('\n');
            }
            let env: Vec<(&str, &str)> = case.env.filter(|_| set(2)).into_iter().collect();
            let mut cli = Layer::default();
            if set(3) {
                (case.cli)(&mut cli);
            }
            let winner = (0..4).rev().find(|&i| set(i));
            let expected = winner.map_or(case.default, |i| case.expect[i as usize]);
            let got = match load_text(Some(&text), Some("local"), &env, cli) {
                Ok(loaded) => (case.get)(&loaded.settings),
                Err(e) => format!("Err:{e}"),
            };
            let ok = if let Some(prefix) = expected.strip_prefix("Err:") {
                got.starts_with("Err:") && got.contains(prefix)
            } else {
                got == expected
            };
            assert!(
                ok,
                "{}: sources {mask:04b} (cli,env,profile,base): expected {expected}, got {got}\n{text}",
                case.name
            );
        }
    }
}

#[test]
fn defaults_are_pusher_js_defaults() {
    let s = load_text(
        None,
        None,
        &[("PUSHER_APP_KEY", "k"), ("PUSHER_CLUSTER", "eu")],
        Layer::default(),
    )
    .unwrap()
    .settings;
    assert_eq!((s.ws_port, s.wss_port, s.tls), (80, 443, true));
    assert_eq!(s.activity_timeout, Duration::from_secs(120));
    assert_eq!(s.pong_timeout, Duration::from_secs(30));
    assert_eq!(s.unavailable_timeout, Duration::from_secs(10));
    assert_eq!(s.retry_cap, Duration::from_secs(15));
    assert_eq!(s.handshake_timeout, Duration::from_secs(15));
    assert_eq!(s.log_ring, 10_000);
    assert_eq!(s.path, "");
    assert_eq!(s.auth.transport, AuthTransport::Ajax);
    assert!(!s.user_auth.enabled);
    assert_eq!(s.auth_method(), AuthMethod::None);
    assert_eq!(
        s.api,
        Api {
            host: "api-eu.pusher.com".into(),
            port: 443,
            tls: true
        }
    );
    let m = s.machine_config();
    assert!(
        m.endpoint
            .url(true)
            .starts_with("wss://ws-eu.pusher.com:443/app/k?protocol=7")
    );
    assert_eq!(m.pong_timeout, Duration::from_secs(30));
}

#[test]
fn self_hosted_api_defaults_to_the_websocket_address() {
    let s = load_text(
        Some("url = \"pusher://k:s@127.0.0.1:6001/apps/app1\"\n[api]\ntls = false\n"),
        None,
        &[],
        Layer::default(),
    )
    .unwrap()
    .settings;
    assert_eq!(
        s.api,
        Api {
            host: "127.0.0.1".into(),
            port: 6001,
            tls: false
        }
    );
    assert_eq!(
        s.endpoint().candidates()[0].1.split('?').next(),
        Some("ws://127.0.0.1:6001/app/k")
    );
    assert!(matches!(s.auth_method(), AuthMethod::Local(_)));
}

#[test]
fn ws_headers_in_a_file_refuse_what_would_break_the_handshake() {
    for (name, why) in [
        ("Content-Length", "smuggling"),
        ("transfer-encoding", "smuggling"),
        ("Sec-WebSocket-Protocol", "handshake"),
        ("HOST", "--host"),
        ("connection", "upgrade"),
    ] {
        for text in [
            format!("ws_headers = {{ \"{name}\" = \"1\" }}\n"),
            format!("[profiles.p]\nws_headers = {{ \"{name}\" = \"1\" }}\n"),
        ] {
            let e = parse_err(&text);
            assert!(e.contains(name) && e.contains(why), "{text}: {e}");
        }
    }
}

#[test]
fn headers_and_params_merge_per_name() {
    let text = r#"
key = "k"
host = "h"
[auth]
endpoint = "http://a.example/auth"
headers = { "X-Tenant" = "base", "X-Base" = "1" }
params = { team = "base" }
[profiles.p.auth]
headers = { "X-Tenant" = "profile" }
"#;
    let cli = Layer {
        auth: Some(AuthLayer {
            headers: Some([("X-Cli", "2")].into_iter().collect()),
            ..AuthLayer::default()
        }),
        ..Layer::default()
    };
    let s = load_text(Some(text), Some("p"), &[], cli).unwrap().settings;
    let headers: Vec<(&str, &str)> = s.auth.headers.iter().collect();
    assert_eq!(
        headers,
        [("X-Base", "1"), ("X-Cli", "2"), ("X-Tenant", "profile")]
    );
    assert_eq!(s.auth.params.iter().collect::<Vec<_>>(), [("team", "base")]);
}

#[test]
fn a_higher_layer_choosing_an_auth_method_replaces_the_lower_choice() {
    let text = "key = \"k\"\nhost = \"h\"\n[auth]\ncommand = [\"./auth.sh\"]\n";
    let s = load_text(
        Some(text),
        None,
        &[("PUSHER_AUTH_ENDPOINT", "http://e.example/a")],
        Layer::default(),
    )
    .unwrap()
    .settings;
    assert!(matches!(
        s.auth_method(),
        AuthMethod::Endpoint(_, AuthTransport::Ajax)
    ));
    assert_eq!(s.auth.command, None);
    let err = load_text(
        Some("key = \"k\"\nhost = \"h\"\n[auth]\ncommand = \"x\"\nendpoint = \"http://e.example/a\"\n"),
        None,
        &[],
        Layer::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("choose one"), "{err}");
}

#[test]
fn a_cluster_from_a_higher_layer_replaces_a_lower_host() {
    let cli = Layer {
        cluster: Some("eu".into()),
        ..Layer::default()
    };
    let s = load_text(Some("key = \"k\"\nhost = \"h.example\"\n"), None, &[], cli)
        .unwrap()
        .settings;
    assert_eq!(s.endpoint().host, "ws-eu.pusher.com");
    let s = load_text(
        Some("key = \"k\"\nhost = \"h.example\"\n"),
        None,
        &[("PUSHER_CLUSTER", "ap1")],
        Layer::default(),
    )
    .unwrap()
    .settings;
    assert_eq!(s.endpoint().host, "ws-ap1.pusher.com");
}

// ---- profiles and file location ----

#[test]
fn default_profile_applies_unless_another_is_named() {
    let text = r#"
default_profile = "local"
key = "k"
cluster = "eu"
[profiles.local]
host = "127.0.0.1"
tls = false
[profiles.prod]
cluster = "us2"
"#;
    let l = load_text(Some(text), None, &[], Layer::default()).unwrap();
    assert_eq!(l.profile.as_deref(), Some("local"));
    assert_eq!(
        (l.settings.host.as_str(), l.settings.tls),
        ("127.0.0.1", false)
    );
    let l = load_text(Some(text), Some("prod"), &[], Layer::default()).unwrap();
    assert_eq!(l.settings.host, "ws-us2.pusher.com");
    assert!(l.settings.tls, "base keys are inherited, tls default stays");
    let err = load_text(Some(text), Some("staging"), &[], Layer::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown profile \"staging\""), "{err}");
    assert!(err.contains("available: local, prod"), "{err}");
    // Without default_profile the base applies alone.
    let base_only = text.replace("default_profile = \"local\"\n", "");
    let l = load_text(Some(&base_only), None, &[], Layer::default()).unwrap();
    assert_eq!(
        (l.profile, l.settings.host.as_str()),
        (None, "ws-eu.pusher.com")
    );
}

#[test]
fn missing_default_file_is_fine_missing_named_file_is_not() {
    let l = load_text(
        None,
        None,
        &[("PUSHER_APP_KEY", "k"), ("PUSHER_HOST", "h")],
        Layer::default(),
    )
    .unwrap();
    assert_eq!(l.file, None);
    let err = load_text(None, Some("local"), &[], Layer::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no config file"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = load(
        LoadOptions {
            config: Some(missing.clone()),
            ..LoadOptions::default()
        },
        env_of(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cannot read config file") && err.contains("nope.toml"),
        "{err}"
    );
    let missing_str = missing.to_str().unwrap().to_string();
    let err = load(
        LoadOptions::default(),
        env_of(&[("CHANWATCH_CONFIG", &missing_str)]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("nope.toml"),
        "CHANWATCH_CONFIG names a file that must exist: {err}"
    );
}

#[test]
fn chanwatch_config_and_flag_pick_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, "key = \"from-a\"\nhost = \"h\"\n").unwrap();
    std::fs::write(&b, "key = \"from-b\"\nhost = \"h\"\n").unwrap();
    let b_str = b.to_str().unwrap().to_string();
    let env = [("CHANWATCH_CONFIG", b_str.as_str())];
    let l = load(LoadOptions::default(), env_of(&env)).unwrap();
    assert_eq!(
        (l.settings.key.as_str(), l.file.as_deref()),
        ("from-b", Some(b.as_path()))
    );
    let l = load(
        LoadOptions {
            config: Some(a.clone()),
            ..LoadOptions::default()
        },
        env_of(&env),
    )
    .unwrap();
    assert_eq!(l.settings.key, "from-a");
}

// ---- aliases and the URL form ----

#[test]
fn pusher_js_names_mean_the_same_keys() {
    let canonical = parse(
        r#"
host = "h"
ws_port = 6001
wss_port = 6002
path = "/ws"
tls = false
app_id = "1"
key = "k"
enabled_transports = ["ws"]
disabled_transports = ["wss"]
[auth]
endpoint = "http://a.example/auth"
transport = "jsonp"
params = { p = "1" }
headers = { "X-H" = "2" }
[user_auth]
enabled = true
endpoint = "http://a.example/user-auth"
"#,
    )
    .unwrap();
    let aliased = parse(
        r#"
wsHost = "h"
wsPort = 6001
wssPort = 6002
wsPath = "/ws"
forceTLS = false
appId = 1
app_key = "k"
enabledTransports = ["ws"]
disabledTransports = ["wss"]
authEndpoint = "http://a.example/auth"
authTransport = "jsonp"
[channelAuthorization]
params = { p = "1" }
headers = { "X-H" = "2" }
[userAuthentication]
enabled = true
endpoint = "http://a.example/user-auth"
"#,
    )
    .unwrap();
    assert_eq!(canonical.base, aliased.base);
    let snake =
        parse("auth_endpoint = \"http://a.example/auth\"\nauth_transport = \"jsonp\"\n").unwrap();
    let auth = snake.base.auth.unwrap();
    assert_eq!(auth.transport, Some(AuthTransport::Jsonp));
    assert!(auth.endpoint.is_some());
}

#[test]
fn legacy_and_new_spelling_in_one_table_is_an_error() {
    let err = parse_err("authEndpoint = \"http://a/b\"\n[auth]\nendpoint = \"http://a/c\"\n");
    assert!(err.contains("authEndpoint and auth.endpoint"), "{err}");
    let err = parse_err("[channelAuthorization]\ntimeout = \"1s\"\n[auth]\ntimeout = \"2s\"\n");
    assert!(err.contains("set twice"), "{err}");
    // Across layers it is ordinary layering: the profile's auth.endpoint wins over the base's authEndpoint.
    let f = parse("authEndpoint = \"http://a/b\"\n[profiles.p.auth]\nendpoint = \"http://a/c\"\n")
        .unwrap();
    let l = f.layer(Some("p")).unwrap();
    assert_eq!(l.auth.unwrap().endpoint.unwrap().to_string(), "http://a/c");
}

#[test]
fn url_form_in_file_profile_and_cli() {
    // In the same table, explicit keys win over the URL's parts.
    let f = parse(
        r#"
url = "pusher://urlkey:urlsecret@127.0.0.1:6001/apps/app1"
key = "explicit"
[profiles.cloud]
url = "https://ck:cs@api-eu.pusher.com/apps/99"
"#,
    )
    .unwrap();
    let s = Settings::resolve(f.layer(None).unwrap()).unwrap();
    assert_eq!(s.key, "explicit");
    assert_eq!(s.secret.as_ref().unwrap().expose(), "urlsecret");
    assert_eq!(
        (s.host.as_str(), s.ws_port, s.tls),
        ("127.0.0.1", 6001, false)
    );
    assert_eq!(s.app_id.as_deref(), Some("app1"));
    // The profile's URL gives a cluster; the base's host (from its own URL) is a lower layer
    // and still wins for the WebSocket host, exactly as a base `host` key would.
    let s = Settings::resolve(f.layer(Some("cloud")).unwrap()).unwrap();
    assert_eq!(s.key, "ck");
    assert_eq!(s.cluster.as_deref(), Some("eu"));
    assert_eq!(s.app_id.as_deref(), Some("99"));
    assert!(s.tls);

    let cli = Layer {
        url: Some("pushers://clik@soketi.example:6443".into()),
        ..Layer::default()
    };
    let s = load_text(
        Some("key = \"filekey\"\ncluster = \"eu\"\n"),
        None,
        &[],
        cli,
    )
    .unwrap()
    .settings;
    assert_eq!(
        (s.key.as_str(), s.host.as_str(), s.wss_port, s.tls),
        ("clik", "soketi.example", 6443, true)
    );

    let bad_cli = Layer {
        url: Some("ws://nope".into()),
        ..Layer::default()
    };
    let err = load_text(None, None, &[], bad_cli).unwrap_err().to_string();
    assert!(
        err.starts_with("command line: url: unknown scheme"),
        "{err}"
    );
}

// ---- file errors: file, line, key, table ----

#[test]
fn errors_name_file_line_key_and_table() {
    let cases: &[(&str, &str)] = &[
        (
            "key = \"k\"\n\n[profiles.local]\nhost = \"h\"\nactivty_timeout = \"2s\"\n",
            "/etc/chanwatch/config.toml:5: unknown key \"activty_timeout\" in [profiles.local]; did you mean \"activity_timeout\"?",
        ),
        (
            "key = \"k\"\ncolour = \"blue\"\n",
            "/etc/chanwatch/config.toml:2: unknown key \"colour\"",
        ),
        (
            "[profiles.local.auth]\nendpoint = \"http://a/b\"\nheader = { A = \"b\" }\n",
            "/etc/chanwatch/config.toml:3: unknown key \"header\" in [profiles.local.auth]; did you mean \"headers\"?",
        ),
        (
            "[profiles.a]\nactivity_timeout = \"soon\"\n",
            "/etc/chanwatch/config.toml:2: bad value for \"activity_timeout\" in [profiles.a]: \"soon\" is not a duration",
        ),
        (
            "pong_timeout = 30\n",
            "/etc/chanwatch/config.toml:1: bad value for \"pong_timeout\": write durations as strings with a unit, e.g. \"30s\"",
        ),
        (
            "\n\nws_port = 70000\n",
            "/etc/chanwatch/config.toml:3: bad value for \"ws_port\": 70000 is not a port number (1 to 65535)",
        ),
        (
            "[api]\nport = 0\n",
            "/etc/chanwatch/config.toml:2: bad value for \"port\" in [api]: 0 is not a port number",
        ),
        (
            "wss_port = \"443\"\n",
            "/etc/chanwatch/config.toml:1: bad value for \"wss_port\": expected a port number (1 to 65535), found the string \"443\"",
        ),
        (
            "[auth]\ntransport = \"xhr\"\n",
            "/etc/chanwatch/config.toml:2: bad value for \"transport\" in [auth]: unknown variant `xhr`, expected `ajax` or `jsonp`",
        ),
        (
            "enabled_transports = [\"ws\", \"carrier\"]\n",
            "/etc/chanwatch/config.toml:1: bad value for \"enabled_transports\": unknown transport \"carrier\"",
        ),
        (
            "url = \"ws://k@h\"\n",
            "/etc/chanwatch/config.toml:1: bad value for \"url\": unknown scheme",
        ),
        (
            "[user_auth]\nuser_data = { name = \"x\" }\n",
            "/etc/chanwatch/config.toml:2: bad value for \"user_data\" in [user_auth]: user_data needs an \"id\"",
        ),
        (
            "default_profile = \"nope\"\n[profiles.a]\n[profiles.b]\n",
            "/etc/chanwatch/config.toml:1: default_profile \"nope\" has no [profiles.nope] table; available: a, b",
        ),
        (
            "profiles = 3\n",
            "/etc/chanwatch/config.toml:1: profiles must be a table",
        ),
        (
            "[profiles.x.profiles.y]\n",
            "/etc/chanwatch/config.toml:1: unknown key \"profiles\"",
        ),
        (
            "key = \"k\"\nkey = \"again\"\n",
            "/etc/chanwatch/config.toml:2: duplicate key",
        ),
        ("key = \n", "/etc/chanwatch/config.toml:1: "),
    ];
    for (text, expected) in cases {
        let err = parse_err(text);
        assert!(
            err.starts_with(expected),
            "\n{text}\nexpected: {expected}\n     got: {err}"
        );
    }
}

#[test]
fn home_directory_is_shown_as_tilde() {
    let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) else {
        return;
    };
    let path = home.join(".config/chanwatch/config.toml");
    let err = ConfigFile::parse("[profiles.local]\nactivty_timeout = \"1s\"\n", &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "~/.config/chanwatch/config.toml:2: unknown key \"activty_timeout\" in [profiles.local]"
        ),
        "{err}"
    );
}

#[test]
fn missing_required_values_say_where_to_set_them() {
    let err = load_text(None, None, &[("PUSHER_HOST", "h")], Layer::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no app key") && err.contains("PUSHER_APP_KEY"),
        "{err}"
    );
    let err = load_text(None, None, &[("PUSHER_APP_KEY", "k")], Layer::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no server") && err.contains("--host"), "{err}");
    let err = load_text(
        Some("key = \"k\"\nhost = \"h\"\n[user_auth]\nenabled = true\n"),
        None,
        &[],
        Layer::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no way to sign"), "{err}");
}

// ---- masking ----

const SECRET: &str = "7ad3773142a6692b25b8";

fn secretive() -> Loaded {
    let text = format!(
        r#"
key = "278d425bdf160c739803"
secret = "{SECRET}"
host = "127.0.0.1"
[auth]
endpoint = "https://bob:pa55word-xyz@auth.example/auth?token=tok-abc-123&team=blue"
headers = {{ Authorization = "Bearer bearer-token-0001", Cookie = "sid=cookie-0002", "X-Api-Key" = "apikey-0003", "X-Tenant" = "blue-tenant", Accept = "application/json" }}
params = {{ access_token = "param-token-0004", team = "blue" }}
user_info = {{ name = "Ann" }}
[user_auth]
enabled = true
user_data = {{ id = "ann" }}
headers = {{ "X-Csrf-Token" = "csrf-0005" }}
"#
    );
    load_text(Some(&text), None, &[], Layer::default()).unwrap()
}

const LEAKS: &[&str] = &[
    SECRET,
    "pa55word-xyz",
    "tok-abc-123",
    "bearer-token-0001",
    "cookie-0002",
    "apikey-0003",
    "param-token-0004",
    "csrf-0005",
    "blue-tenant",
];

#[test]
fn print_config_masks_secrets_and_shows_the_rest() {
    let loaded = secretive();
    let out = loaded.print_config();
    for leak in LEAKS {
        assert!(!out.contains(leak), "{leak} leaked:\n{out}");
    }
    // The user name of the endpoint's user info is masked with its password.
    assert!(!out.contains("bob"), "{out}");
    for shown in [
        "key = \"278d425bdf160c739803\"",
        "X-Tenant = \"••••\"",
        "Accept = \"application/json\"",
        "team = \"••••\"",
        "secret = \"••••b8\"",
        "Authorization = \"••••01\"",
        "https://••••@auth.example/auth?token=••••&team=••••",
        "activity_timeout = \"2m\"",
    ] {
        assert!(out.contains(shown), "missing {shown}:\n{out}");
    }
    assert!(
        out.starts_with("# chanwatch configuration (file: "),
        "{out}"
    );
    // The rendering is itself a valid config file.
    let reparsed = parse(&loaded.settings.to_masked_toml()).unwrap();
    assert_eq!(reparsed.base.host.as_deref(), Some("127.0.0.1"));
}

#[test]
fn debug_output_never_shows_secrets() {
    let loaded = secretive();
    let file = parse(&format!(
        "secret = \"{SECRET}\"\n[auth]\nheaders = {{ Authorization = \"bearer-token-0001\" }}\n"
    ))
    .unwrap();
    for dbg in [
        format!("{loaded:?}"),
        format!("{:?}", loaded.settings),
        format!("{file:?}"),
        format!("{:#?}", file.base),
    ] {
        for leak in LEAKS {
            assert!(!dbg.contains(leak), "{leak} leaked in Debug:\n{dbg}");
        }
    }
}

#[test]
fn config_errors_never_show_secrets() {
    for text in [
        format!("secret = \"{SECRET}\"\nbogus = 1\n"),
        format!("url = \"ws://k:{SECRET}@h\"\n"),
        format!("[auth]\nendpoint = \"ftp://u:{SECRET}@h/a\"\n"),
        format!("[auth]\nendpoint = \"auth?token={SECRET}\"\n"),
        "secret = 7733142692258\n".to_string(),
    ] {
        let err = parse_err(&text);
        assert!(
            !err.contains(SECRET) && !err.contains("7733142692258"),
            "{err}"
        );
    }
    let err = layer_from_env(env_of(&[("PUSHER_URL", &format!("ws://k:{SECRET}@h"))]))
        .unwrap_err()
        .to_string();
    assert!(!err.contains(SECRET), "{err}");
}
