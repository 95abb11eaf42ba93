//! The `PUSHER_*` environment variables as a [`Layer`]. The lookup is a closure so that tests
//! never touch the process environment. Empty values count as unset (compose files and CI
//! systems often define variables as empty).
//!
//! | variable               | key                                               |
//! |------------------------|---------------------------------------------------|
//! | `PUSHER_URL`           | `url` (the individual variables below win over it) |
//! | `PUSHER_APP_KEY`       | `key`                                             |
//! | `PUSHER_APP_SECRET`    | `secret`                                          |
//! | `PUSHER_APP_ID`        | `app_id`                                          |
//! | `PUSHER_CLUSTER`       | `cluster`                                         |
//! | `PUSHER_HOST`          | `host`                                            |
//! | `PUSHER_PORT`          | `ws_port` and `wss_port` (one port, either scheme) |
//! | `PUSHER_TLS`           | `tls` (true/false, 1/0, yes/no, on/off)           |
//! | `PUSHER_AUTH_ENDPOINT` | `auth.endpoint`                                   |
//! | `PUSHER_ENCRYPTION_MASTER_KEY` | `auth.encryption_master_key` (base64 of 32 bytes) |

use super::ConfigError;
use super::layer::{AuthLayer, Layer};
use super::values::{
    AuthUrl, Secret, check_app_id, check_cluster, check_host, check_key, parse_bool, parse_port,
};

/// Every variable this module reads, for help texts.
pub const VARIABLES: &[&str] = &[
    "PUSHER_URL",
    "PUSHER_APP_KEY",
    "PUSHER_APP_SECRET",
    "PUSHER_APP_ID",
    "PUSHER_CLUSTER",
    "PUSHER_HOST",
    "PUSHER_PORT",
    "PUSHER_TLS",
    "PUSHER_AUTH_ENDPOINT",
    "PUSHER_ENCRYPTION_MASTER_KEY",
];

/// Reads the variables through `lookup` (e.g. `|name| std::env::var(name).ok()`).
pub fn layer_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    fn read<T>(
        var: &str,
        value: Option<String>,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        value
            .map(|v| {
                check(v.trim()).map_err(|message| ConfigError::Env {
                    var: var.to_string(),
                    message,
                })
            })
            .transpose()
    }

    let port = read("PUSHER_PORT", get("PUSHER_PORT"), parse_port)?;
    let endpoint = read(
        "PUSHER_AUTH_ENDPOINT",
        get("PUSHER_AUTH_ENDPOINT"),
        AuthUrl::parse,
    )?;
    // Like the secret, taken as it is; the setup checks it without quoting it.
    let master_key = lookup("PUSHER_ENCRYPTION_MASTER_KEY")
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .transpose()
        .map_err(|message| ConfigError::Env {
            var: "PUSHER_ENCRYPTION_MASTER_KEY".into(),
            message,
        })?;
    let auth = (endpoint.is_some() || master_key.is_some()).then(|| AuthLayer {
        endpoint,
        encryption_master_key: master_key,
        ..AuthLayer::default()
    });
    let layer = Layer {
        key: read("PUSHER_APP_KEY", get("PUSHER_APP_KEY"), check_key)?,
        // The secret is taken as it is, spaces included: it is compared byte for byte.
        secret: lookup("PUSHER_APP_SECRET")
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .transpose()
            .map_err(|message| ConfigError::Env {
                var: "PUSHER_APP_SECRET".into(),
                message,
            })?,
        app_id: read("PUSHER_APP_ID", get("PUSHER_APP_ID"), check_app_id)?,
        cluster: read("PUSHER_CLUSTER", get("PUSHER_CLUSTER"), check_cluster)?,
        host: read("PUSHER_HOST", get("PUSHER_HOST"), check_host)?,
        ws_port: port,
        wss_port: port,
        tls: read("PUSHER_TLS", get("PUSHER_TLS"), parse_bool)?,
        auth,
        url: read("PUSHER_URL", get("PUSHER_URL"), |v| {
            super::url_form::parse(v)?;
            Ok(v.to_string())
        })?,
        ..Layer::default()
    };
    layer.normalize().map_err(|message| ConfigError::Env {
        var: "PUSHER_URL".into(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_every_variable() {
        let l = layer_from_env(env(&[
            ("PUSHER_APP_KEY", "k"),
            ("PUSHER_APP_SECRET", "s"),
            ("PUSHER_APP_ID", "42"),
            ("PUSHER_CLUSTER", "eu"),
            ("PUSHER_HOST", "127.0.0.1"),
            ("PUSHER_PORT", "6001"),
            ("PUSHER_TLS", "false"),
            ("PUSHER_AUTH_ENDPOINT", "http://127.0.0.1:3000/pusher/auth"),
            ("PUSHER_ENCRYPTION_MASTER_KEY", "bWFzdGVy"),
        ]))
        .unwrap();
        assert_eq!(l.key.as_deref(), Some("k"));
        assert_eq!(l.secret.unwrap().expose(), "s");
        assert_eq!(l.app_id.as_deref(), Some("42"));
        assert_eq!(l.cluster.as_deref(), Some("eu"));
        assert_eq!(l.host.as_deref(), Some("127.0.0.1"));
        assert_eq!((l.ws_port, l.wss_port), (Some(6001), Some(6001)));
        assert_eq!(l.tls, Some(false));
        let auth = l.auth.unwrap();
        assert_eq!(
            auth.endpoint.unwrap().0.as_str(),
            "http://127.0.0.1:3000/pusher/auth"
        );
        assert_eq!(auth.encryption_master_key.unwrap().expose(), "bWFzdGVy");
    }

    #[test]
    fn nothing_set_is_an_empty_layer_and_empty_values_are_unset() {
        assert_eq!(layer_from_env(env(&[])).unwrap(), Layer::default());
        assert_eq!(
            layer_from_env(env(&[("PUSHER_PORT", ""), ("PUSHER_APP_SECRET", "")])).unwrap(),
            Layer::default()
        );
    }

    #[test]
    fn individual_variables_win_over_pusher_url() {
        let l = layer_from_env(env(&[
            (
                "PUSHER_URL",
                "pusher://urlkey:urlsecret@url.example:6001/apps/7",
            ),
            ("PUSHER_APP_KEY", "envkey"),
        ]))
        .unwrap();
        assert_eq!(l.key.as_deref(), Some("envkey"));
        assert_eq!(l.secret.unwrap().expose(), "urlsecret");
        assert_eq!(l.host.as_deref(), Some("url.example"));
        assert_eq!(l.app_id.as_deref(), Some("7"));
        assert_eq!(l.url, None, "the url is expanded");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value, needle) in [
            ("PUSHER_PORT", "http", "not a port"),
            ("PUSHER_TLS", "maybe", "boolean"),
            ("PUSHER_AUTH_ENDPOINT", "/pusher/auth", "absolute URL"),
            ("PUSHER_URL", "ws://k@h", "scheme"),
            ("PUSHER_HOST", "https://h", "URL"),
        ] {
            let err = layer_from_env(env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("environment variable {var}: ")),
                "{err}"
            );
            assert!(err.contains(needle), "{err}");
        }
    }
}
