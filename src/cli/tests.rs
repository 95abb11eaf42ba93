//! Flags to a configuration layer: each flag lands in its field, absent flags stay `None`, and
//! bad values are refused with the flag's name.

use super::*;
use crate::config::{ApiLayer, Settings};
use clap::CommandFactory;
use clap::error::ErrorKind;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("chanwatch").chain(args.iter().copied()))
}

fn layer_of(args: &[&str]) -> Layer {
    parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .layer()
}

/// The rendered error, for checking that it names the flag.
fn error_text(args: &[&str]) -> String {
    let err = parse(args).expect_err("should be rejected");
    assert_eq!(err.exit_code(), 2, "{err}");
    err.to_string()
}

#[test]
fn command_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn no_flags_is_an_empty_layer() {
    let cli = parse(&[]).unwrap();
    assert_eq!(cli.layer(), Layer::default());
    assert_eq!(cli.connection.config, None);
    assert_eq!(cli.connection.profile, None);
    assert!(!cli.output.print_config && !cli.output.headless && !cli.output.fault_proxy);
    assert_eq!(cli.auth.encryption_master_key, None);
}

#[test]
fn each_flag_lands_in_its_field() {
    let d = |s: u64| Some(Duration::from_secs(s));
    let url = "pusher://k:s@127.0.0.1:6001/apps/1";
    let cases: Vec<(Vec<&str>, Layer)> = vec![
        (
            vec!["--url", url],
            Layer {
                url: Some(url.into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--key", "k1"],
            Layer {
                key: Some("k1".into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--secret", "s3"],
            Layer {
                secret: Some(Secret::new("s3").unwrap()),
                ..Layer::default()
            },
        ),
        (
            vec!["--app-id", "42"],
            Layer {
                app_id: Some("42".into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--cluster", "eu"],
            Layer {
                cluster: Some("eu".into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--host", "h.example"],
            Layer {
                host: Some("h.example".into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--ws-port", "6001"],
            Layer {
                ws_port: Some(6001),
                ..Layer::default()
            },
        ),
        (
            vec!["--wss-port", "6002"],
            Layer {
                wss_port: Some(6002),
                ..Layer::default()
            },
        ),
        (
            vec!["--tls"],
            Layer {
                tls: Some(true),
                ..Layer::default()
            },
        ),
        (
            vec!["--no-tls"],
            Layer {
                tls: Some(false),
                ..Layer::default()
            },
        ),
        (
            vec!["--path", "/ws/"],
            Layer {
                path: Some("/ws".into()),
                ..Layer::default()
            },
        ),
        (
            vec!["--activity-timeout", "1s"],
            Layer {
                activity_timeout: d(1),
                ..Layer::default()
            },
        ),
        (
            vec!["--pong-timeout", "2s"],
            Layer {
                pong_timeout: d(2),
                ..Layer::default()
            },
        ),
        (
            vec!["--unavailable-timeout", "3s"],
            Layer {
                unavailable_timeout: d(3),
                ..Layer::default()
            },
        ),
        (
            vec!["--retry-cap", "4s"],
            Layer {
                retry_cap: d(4),
                ..Layer::default()
            },
        ),
        (
            vec!["--handshake-timeout", "5s"],
            Layer {
                handshake_timeout: d(5),
                ..Layer::default()
            },
        ),
        (
            vec!["--enabled-transports", "ws,wss"],
            Layer {
                enabled_transports: Some(vec!["ws".into(), "wss".into()]),
                ..Layer::default()
            },
        ),
        (
            vec!["--disabled-transports", "xhr_polling"],
            Layer {
                disabled_transports: Some(vec!["xhr_polling".into()]),
                ..Layer::default()
            },
        ),
        (
            vec!["-s", "a", "--subscribe", "private-b"],
            Layer {
                subscribe: Some(vec!["a".into(), "private-b".into()]),
                ..Layer::default()
            },
        ),
        (
            vec!["--log-ring", "500"],
            Layer {
                log_ring: Some(500),
                ..Layer::default()
            },
        ),
        (
            vec!["--api-host", "api.example", "--api-port", "8080"],
            Layer {
                api: Some(ApiLayer {
                    host: Some("api.example".into()),
                    port: Some(8080),
                    tls: None,
                }),
                ..Layer::default()
            },
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(layer_of(&args), expected, "{args:?}");
    }
}

#[test]
fn auth_flags_fill_the_auth_table() {
    let l = layer_of(&[
        "--auth-endpoint",
        "http://127.0.0.1:9000/pusher/auth",
        "--auth-transport",
        "JSONP",
        "--auth-param",
        "team=a=b",
        "--auth-param",
        "x=",
        "--auth-header",
        "Authorization: Bearer abc",
        "--auth-timeout",
        "250ms",
        "--user-id",
        "42",
        "--user-info",
        r#"{"name":"Ann"}"#,
    ]);
    let a = l.auth.expect("auth layer");
    assert_eq!(
        a.endpoint.unwrap().0.as_str(),
        "http://127.0.0.1:9000/pusher/auth"
    );
    assert_eq!(a.transport, Some(AuthTransport::Jsonp));
    assert_eq!(
        a.params,
        Some([("team", "a=b"), ("x", "")].into_iter().collect())
    );
    assert_eq!(
        a.headers,
        Some([("Authorization", "Bearer abc")].into_iter().collect())
    );
    assert_eq!(a.command, None);
    assert_eq!(a.timeout, Some(Duration::from_millis(250)));
    assert_eq!(a.user_id.as_deref(), Some("42"));
    assert_eq!(a.user_info, Some(serde_json::json!({"name":"Ann"})));
    assert_eq!(
        l.user_auth, None,
        "channel auth flags do not turn sign-in on"
    );

    let a = layer_of(&["--auth-command", "./auth.sh --prod"])
        .auth
        .unwrap();
    assert_eq!(
        a.command,
        Some(ExternalCommand::Shell("./auth.sh --prod".into()))
    );
}

#[test]
fn sign_in_flags_turn_sign_in_on() {
    assert_eq!(
        layer_of(&["--signin"]).user_auth,
        Some(UserAuthLayer {
            enabled: Some(true),
            ..UserAuthLayer::default()
        })
    );
    let u = layer_of(&[
        "--user-auth-endpoint",
        "http://127.0.0.1:9000/user-auth",
        "--user-auth-transport",
        "jsonp",
    ])
    .user_auth
    .unwrap();
    assert_eq!(u.enabled, Some(true));
    assert_eq!(
        u.endpoint.unwrap().0.as_str(),
        "http://127.0.0.1:9000/user-auth"
    );
    assert_eq!(u.transport, Some(AuthTransport::Jsonp));
    let u = layer_of(&["--user-auth-command", "./user.sh"])
        .user_auth
        .unwrap();
    assert_eq!(
        (u.enabled, u.command),
        (Some(true), Some(ExternalCommand::Shell("./user.sh".into())))
    );
    let u = layer_of(&["--user-data", r#"{"id":"alice"}"#])
        .user_auth
        .unwrap();
    assert_eq!(
        (u.enabled, u.user_data),
        (Some(true), Some(serde_json::json!({"id":"alice"})))
    );
    // A transport alone configures without asking to sign in.
    let u = layer_of(&["--user-auth-transport", "ajax"])
        .user_auth
        .unwrap();
    assert_eq!(u.enabled, None);
}

#[test]
fn config_profile_and_output_flags() {
    let cli = parse(&[
        "--config",
        "/tmp/c.toml",
        "--profile",
        "local",
        "--print-config",
        "--headless",
        "--fault-proxy",
        "-vv",
        "--log-file",
        "/tmp/x.log",
        "--encryption-master-key",
        "AAAA",
    ])
    .unwrap();
    assert_eq!(cli.connection.config, Some(PathBuf::from("/tmp/c.toml")));
    assert_eq!(cli.connection.profile.as_deref(), Some("local"));
    assert!(cli.output.print_config && cli.output.headless && cli.output.fault_proxy);
    assert_eq!(cli.output.verbose, 2);
    assert_eq!(cli.output.log_file, Some(PathBuf::from("/tmp/x.log")));
    assert_eq!(cli.auth.encryption_master_key.as_deref(), Some("AAAA"));
    assert_eq!(
        cli.layer(),
        Layer::default(),
        "none of these is a configuration value"
    );
}

#[test]
fn tls_flags_last_one_wins() {
    assert_eq!(layer_of(&["--no-tls", "--tls"]).tls, Some(true));
    assert_eq!(layer_of(&["--tls", "--no-tls"]).tls, Some(false));
    assert_eq!(layer_of(&[]).tls, None);
}

#[test]
fn demo_subcommand_and_global_flags() {
    let cli = parse(&["demo", "--headless", "--fault-proxy"]).unwrap();
    assert!(matches!(&cli.mode, Some(Mode::Demo(args)) if args.nodes() == 1));
    assert!(cli.output.headless && cli.output.fault_proxy);
}

#[test]
fn demo_nodes_from_one_to_nine() {
    for (arg, n) in [("1", 1), ("3", 3), ("9", 9)] {
        let cli = parse(&["demo", "--nodes", arg, "--headless"]).unwrap();
        assert!(
            matches!(&cli.mode, Some(Mode::Demo(a)) if a.nodes() == n),
            "{arg}"
        );
    }
    for bad in ["0", "10", "-1", "three", ""] {
        let e = parse(&["demo", &format!("--nodes={bad}")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--nodes"), "{bad}: {e}");
        assert!(e.contains("1 to 9"), "{bad}: {e}");
    }
    // A flag of the demo only.
    assert!(parse(&["--nodes", "3", "demo"]).is_err());
}

#[test]
fn key_and_server_are_left_to_the_configuration() {
    // Not required by clap: the merged configuration decides (and names every source).
    assert!(parse(&["--host", "h"]).is_ok());
    assert!(parse(&["--key", "k"]).is_ok());
    let err = parse(&["--key", "k", "--host", "h", "--cluster", "eu"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    let err = parse(&[
        "--auth-endpoint",
        "http://a.example/auth",
        "--auth-command",
        "x",
    ])
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    let err = Settings::resolve(layer_of(&["--host", "h"]))
        .unwrap_err()
        .to_string();
    for name in ["--key", "PUSHER_APP_KEY", "key"] {
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn defaults_come_from_the_configuration_and_are_pusher_js_like() {
    let s = Settings::resolve(layer_of(&["--key", "k", "--host", "127.0.0.1"])).unwrap();
    let m = s.machine_config();
    assert_eq!(
        (m.endpoint.ws_port, m.endpoint.wss_port, m.endpoint.tls),
        (80, 443, true)
    );
    assert_eq!(m.endpoint.path, "");
    assert_eq!(m.activity_timeout, Duration::from_secs(120));
    assert_eq!(m.pong_timeout, Duration::from_secs(30));
    assert_eq!(m.unavailable_timeout, Duration::from_secs(10));
    assert_eq!(m.retry_cap, Duration::from_secs(15));
    assert_eq!(m.handshake_timeout, Duration::from_secs(15));
    assert_eq!(s.auth.timeout, Duration::from_secs(10));
    assert_eq!(s.log_ring, 10_000);
    let s = Settings::resolve(layer_of(&["--key", "k", "--cluster", "eu"])).unwrap();
    assert_eq!(s.host, "ws-eu.pusher.com");
}

#[test]
fn bad_values_name_the_flag() {
    for (flag, value) in [
        ("--activity-timeout", "5x"),
        ("--pong-timeout", "0s"),
        ("--retry-cap", "soon"),
        ("--unavailable-timeout", "100 years"),
        ("--handshake-timeout", "-1s"),
        ("--auth-timeout", ""),
        ("--key", "a/b"),
        ("--key", ""),
        ("--app-id", "a b"),
        ("--host", "ws://x.example"),
        ("--host", "a/b"),
        ("--cluster", "e u"),
        ("--path", "ws"),
        ("--ws-port", "70000"),
        ("--wss-port", "0"),
        ("--api-port", "http"),
        ("--enabled-transports", "ws,carrier-pigeon"),
        ("--disabled-transports", "ws,"),
        ("--subscribe", "has space"),
        ("--subscribe", ""),
        ("--subscribe", "#server-to-user-1"),
        ("--secret", ""),
        ("--user-id", ""),
        ("--user-info", "{name:"),
        ("--user-info", "[1]"),
        ("--user-data", r#"{"name":"no id"}"#),
        ("--user-data", r#"{"id":7}"#),
        ("--auth-param", "novalue"),
        ("--auth-header", "NoColon"),
        ("--auth-header", "Bad Name: v"),
        ("--auth-endpoint", "ftp://x/auth"),
        ("--auth-endpoint", "not a url"),
        ("--user-auth-endpoint", "/relative"),
        ("--auth-transport", "carrier"),
        ("--user-auth-transport", "xhr"),
        ("--auth-command", " "),
        ("--user-auth-command", ""),
        ("--log-ring", "0"),
        ("--log-ring", "many"),
        ("--profile", ""),
    ] {
        let text = error_text(&[flag, value]);
        assert!(text.contains(flag), "{flag} {value:?}: {text}");
    }
    assert!(error_text(&["--subscribe", &"a".repeat(201)]).contains("200"));
}

#[test]
fn ws_headers_that_break_or_smuggle_the_upgrade_name_the_flag() {
    for header in [
        "Content-Length: 0",
        "transfer-encoding: chunked",
        "Sec-WebSocket-Protocol: x",
        "host: evil.example",
        "CONNECTION: close",
    ] {
        let text = error_text(&["--ws-header", header]);
        let name = header.split(':').next().unwrap();
        assert!(
            text.contains("--ws-header") && text.contains(&format!("\"{name}\"")),
            "{header}: {text}"
        );
    }
    assert_eq!(
        layer_of(&["--ws-header", "X-Tenant: blue"])
            .ws_headers
            .unwrap()
            .to_vec(),
        [("X-Tenant".to_string(), "blue".to_string())]
    );
}

#[test]
fn flags_and_config_files_reject_with_the_same_words() {
    let text = error_text(&["--host", "wss://x.example"]);
    let expected = crate::config::check_host("wss://x.example").unwrap_err();
    assert!(text.contains(&expected), "{text}");
    let text = error_text(&["--retry-cap", "soon"]);
    let expected = crate::config::parse_duration("soon").unwrap_err();
    assert!(text.contains(&expected), "{text}");
}

#[test]
fn secrets_are_not_in_debug_output() {
    let cli = parse(&[
        "--url",
        "pusher://k:urlsecret@h/apps/1",
        "--secret",
        "s3cr3t-value",
        "--auth-header",
        "Authorization: Bearer abc",
        "--auth-param",
        "token=t0ken",
        "--encryption-master-key",
        "bWFzdGVya2V5",
        "--auth-command",
        "./auth.sh --token cmdtoken1",
        "--user-auth-command",
        "./user.sh --token cmdtoken2",
    ])
    .unwrap();
    let shown = format!("{cli:?}");
    for secret in [
        "urlsecret",
        "s3cr3t",
        "Bearer",
        "t0ken",
        "bWFzdGVya2V5",
        "cmdtoken1",
        "cmdtoken2",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn help_groups_options() {
    let help = Cli::command().render_help().to_string();
    for heading in [
        "Connection:",
        "Timing:",
        "Channels:",
        "Authorization:",
        "User sign-in:",
        "HTTP API:",
        "Output:",
    ] {
        assert!(help.contains(heading), "missing {heading} in\n{help}");
    }
    for flag in [
        "--config",
        "--profile",
        "--url",
        "--print-config",
        "--signin",
        "--log-ring",
    ] {
        assert!(help.contains(flag), "missing {flag} in\n{help}");
    }
}

#[test]
fn flags_work_before_and_after_a_subcommand() {
    for args in [
        &["demo", "--activity-timeout", "2s", "--pong-timeout", "1s"][..],
        &["--activity-timeout", "2s", "demo", "--pong-timeout", "1s"][..],
        &["--activity-timeout", "2s", "--pong-timeout", "1s", "demo"][..],
    ] {
        let cli = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(matches!(cli.mode, Some(Mode::Demo(_))), "{args:?}");
        assert_eq!(cli.timing.activity_timeout, Some(Duration::from_secs(2)));
        assert_eq!(cli.timing.pong_timeout, Some(Duration::from_secs(1)));
    }
    let cli = parse(&[
        "demo",
        "--headless",
        "--key",
        "k",
        "-s",
        "news",
        "--verbose",
    ])
    .unwrap();
    assert!(cli.output.headless && cli.output.verbose == 1);
    assert_eq!(cli.connection.key.as_deref(), Some("k"));
    assert_eq!(cli.channels.subscribe, ["news"]);
    // A bad value after the subcommand is still refused with the flag's name.
    assert!(error_text(&["demo", "--activity-timeout", "soon"]).contains("--activity-timeout"));
}

#[test]
fn user_auth_params_and_headers_reach_the_user_auth_layer() {
    let layer = layer_of(&[
        "--user-auth-endpoint",
        "https://app.example/user-auth",
        "--user-auth-param",
        "team=blue",
        "--user-auth-header",
        "Authorization: Bearer u-token",
        "--user-auth-header",
        "X-Tenant: t1",
    ]);
    let user = layer.user_auth.unwrap();
    assert_eq!(user.enabled, Some(true));
    let params = user.params.unwrap();
    assert_eq!(params.iter().collect::<Vec<_>>(), [("team", "blue")]);
    let headers = user.headers.unwrap();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [("Authorization", "Bearer u-token"), ("X-Tenant", "t1")]
    );
    // Channel auth is untouched.
    assert_eq!(layer.auth, None);
    let err = error_text(&["--user-auth-header", "no colon"]);
    assert!(err.contains("--user-auth-header"), "{err}");
}
