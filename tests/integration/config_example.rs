//! The shipped `config.example.toml` parses, every profile in it resolves, and it uses every
//! key the configuration knows (so a new key cannot be added without documenting it there).

use chanwatch::config::{
    ApiLayer, AuthLayer, AuthUrl, Colour, ConfigFile, ExternalCommand, KeysLayer, Layer, Secret,
    Settings, ThemeLayer, UserAuthLayer, theme::RoleName,
};
use chanwatch::prefs::keymap::{Action, Keymap, Mode};
use chanwatch::prefs::theme::{Palette, Role};
use chanwatch_core::auth::AuthTransport;
use chanwatch_core::pairs::Pairs;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const EXAMPLE: &str = include_str!("../../config.example.toml");

fn example() -> ConfigFile {
    ConfigFile::parse(EXAMPLE, Path::new("config.example.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// A layer with every field set. Written without `..Default::default()` so that adding a
/// field to a layer type fails to compile here until the example covers it.
fn every_key() -> Layer {
    let pairs: Pairs = [("a", "b")].into_iter().collect();
    let url = AuthUrl::parse("http://a.example/auth").unwrap();
    Layer {
        url: Some("pusher://k@h".into()),
        key: Some("k".into()),
        secret: Some(Secret::new("s").unwrap()),
        app_id: Some("1".into()),
        cluster: Some("eu".into()),
        host: Some("h".into()),
        ws_port: Some(1),
        wss_port: Some(2),
        tls: Some(true),
        path: Some("/p".into()),
        origin: Some("https://o.example".into()),
        ws_headers: Some(pairs.iter().collect()),
        ca_file: Some("/ca.pem".into()),
        activity_timeout: Some(Duration::from_secs(1)),
        pong_timeout: Some(Duration::from_secs(1)),
        unavailable_timeout: Some(Duration::from_secs(1)),
        retry_cap: Some(Duration::from_secs(1)),
        handshake_timeout: Some(Duration::from_secs(1)),
        enabled_transports: Some(vec!["ws".into()]),
        disabled_transports: Some(vec!["wss".into()]),
        subscribe: Some(vec!["c".into()]),
        log_ring: Some(1),
        log_bytes: Some(1 << 20),
        legacy_auth_endpoint: Some(url.clone()),
        legacy_auth_transport: Some(AuthTransport::Ajax),
        auth: Some(AuthLayer {
            endpoint: Some(url.clone()),
            transport: Some(AuthTransport::Jsonp),
            params: Some(pairs.clone()),
            headers: Some(pairs.0.clone().into_iter().collect()),
            command: Some(ExternalCommand::Shell("x".into())),
            timeout: Some(Duration::from_secs(1)),
            user_id: Some("u".into()),
            user_info: Some(serde_json::json!({"n": 1})),
            encryption_master_key: Some(Secret::new("k").unwrap()),
        }),
        user_auth: Some(UserAuthLayer {
            enabled: Some(true),
            endpoint: Some(url),
            transport: Some(AuthTransport::Ajax),
            params: Some(pairs.clone()),
            headers: Some(pairs.0.into_iter().collect()),
            command: Some(ExternalCommand::Argv(vec!["x".into()])),
            timeout: Some(Duration::from_secs(1)),
            user_data: Some(serde_json::json!({"id": "u"})),
        }),
        api: Some(ApiLayer {
            host: Some("h".into()),
            port: Some(1),
            tls: Some(true),
        }),
        keys: Some(every_action()),
        theme: Some(ThemeLayer(
            Role::all()
                .map(|r| (RoleName(r), Colour::parse("red").unwrap()))
                .collect(),
        )),
        measures: Some(chanwatch::config::MeasuresLayer {
            probe: Some(chanwatch::config::Probe::Off),
            probe_channel: Some("p".into()),
            show_probe: Some(true),
            occupancy_interval: Some(Duration::from_secs(1)),
            stats_interval: Some(Duration::from_secs(1)),
            metrics_listen: Some("127.0.0.1:9464".parse().unwrap()),
        }),
        webhook_listen: Some("127.0.0.1:1".parse().unwrap()),
        webhook_path: Some("/w".into()),
        webhook_forward: Some("http://b.example/w".into()),
        nodes: Some(vec![
            chanwatch::config::nodes::parse_flag("a=ws://10.0.0.1:6001").unwrap(),
        ]),
        ghost_after: Some(Duration::from_secs(5)),
    }
}

/// A `[keys]` table naming every action, so the example must show each one.
fn every_action() -> KeysLayer {
    let mut keys = KeysLayer::default();
    for name in Action::names() {
        keys.bind(name, &["f1"]).unwrap();
    }
    keys
}

/// Tables whose keys are the user's own (names of params, headers, JSON fields).
const FREE_FORM: &[&str] = &["params", "headers", "ws_headers", "user_info", "user_data"];

/// The `[keys]` and `[theme]` tables, which the example shows commented out (with the
/// defaults), uncommented.
fn commented_tables() -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in EXAMPLE.lines() {
        let Some(l) = line.strip_prefix("# ") else {
            inside = false;
            continue;
        };
        if l == "[keys]" || l == "[theme]" {
            inside = true;
        } else if !(inside && l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))) {
            inside = false;
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn commented_example() -> ConfigFile {
    ConfigFile::parse(
        &commented_tables(),
        Path::new("config.example.toml (commented)"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn key_paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        if let toml::Value::Table(inner) = value
            && !FREE_FORM.contains(&key.as_str())
        {
            key_paths(inner, &format!("{path}."), out);
        } else {
            out.insert(path);
        }
    }
}

fn paths_of_layer(layer: &Layer) -> BTreeSet<String> {
    let text = toml::to_string(layer).unwrap();
    let mut out = BTreeSet::new();
    key_paths(&text.parse::<toml::Table>().unwrap(), "", &mut out);
    out
}

#[test]
fn example_parses_and_every_profile_resolves() {
    let file = example();
    let names = file.profile_names();
    for server in ["sockudo", "soketi", "reverb", "pusher"] {
        assert!(
            names.iter().any(|n| n == server),
            "no {server} profile in {names:?}"
        );
    }
    assert_eq!(file.default_profile.as_deref(), Some("sockudo"));
    for name in &names {
        let layer = file.layer(Some(name)).unwrap();
        let settings = Settings::resolve(layer).unwrap_or_else(|e| panic!("profile {name}: {e}"));
        assert!(
            !settings.to_masked_toml().contains("testsecret"),
            "profile {name}"
        );
    }
    // The default profile is sockudo on loopback, signing locally.
    let s = Settings::resolve(file.layer(None).unwrap()).unwrap();
    assert_eq!(
        (s.host.as_str(), s.ws_port, s.tls),
        ("127.0.0.1", 6001, false)
    );
    assert_eq!(s.secret.as_ref().map(Secret::expose), Some("testsecret"));
}

#[test]
fn example_uses_every_key() {
    let file = example();
    let mut used = BTreeSet::new();
    // Canonical names of what the layers hold (aliases resolved)...
    used.extend(paths_of_layer(&file.base));
    for (_, layer) in &file.profiles {
        used.extend(paths_of_layer(layer));
    }
    // ...the tables shown commented out...
    used.extend(paths_of_layer(&commented_example().base));
    // ...and the keys as written, for `url` and the legacy keys that normalizing consumes.
    let raw: toml::Table = EXAMPLE.parse().unwrap();
    let mut written = BTreeSet::new();
    key_paths(&raw, "", &mut written);
    for path in written {
        let path = match path.strip_prefix("profiles.") {
            Some(rest) => rest
                .split_once('.')
                .map(|(_, p)| p.to_string())
                .unwrap_or_default(),
            None => path,
        };
        used.insert(path);
    }
    let all = paths_of_layer(&every_key());
    assert!(all.len() >= 40, "the reference layer lost keys: {all:?}");
    let missing: Vec<&String> = all.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "config.example.toml does not use: {missing:?}"
    );
    for alias in [
        "wsHost",
        "wsPort",
        "wssPort",
        "wsPath",
        "forceTLS",
        "enabledTransports",
        "disabledTransports",
        "appId",
        "app_key",
        "channelAuthorization",
        "userAuthentication",
        "authEndpoint",
        "auth_endpoint",
        "authTransport",
        "auth_transport",
    ] {
        assert!(
            EXAMPLE.contains(alias),
            "config.example.toml does not mention {alias}"
        );
    }
}

/// The commented `[keys]` and `[theme]` say what the defaults are, so they must be them.
#[test]
fn example_keys_and_theme_are_the_defaults() {
    let file = commented_example();
    let keys = file.base.keys.clone().unwrap();
    // Every action, and nothing else...
    let listed: Vec<&str> = keys.0.keys().map(|n| n.as_str()).collect();
    let mut actions: Vec<&str> = Action::names().collect();
    actions.sort_unstable();
    assert_eq!(listed, actions);
    // ...each with its default keys, in every mode (the replay's too).
    let keymap = keys.keymap().unwrap();
    assert_eq!(keymap, Keymap::default());
    assert_eq!(
        keymap.help_sections_for(Mode::Replay),
        Keymap::default().help_sections_for(Mode::Replay)
    );
    let theme = file.base.theme.clone().unwrap();
    assert_eq!(theme.0.len(), Role::COUNT);
    assert_eq!(theme.palette(), Palette::default());
}
