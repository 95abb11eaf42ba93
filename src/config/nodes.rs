//! The nodes of a cluster, watched at once: `--node NAME=URL` (repeatable) or the `nodes`
//! table of the config file (`a = "ws://10.0.0.1:6001"`). `URL` is the node's socket,
//! `ws://HOST:PORT` or `wss://HOST:PORT`, optionally followed by `,` and the base of the
//! node's own HTTP API (`http://HOST:PORT`); without one the API is at the socket's host
//! and port (sockudo, soketi and Reverb serve both on one port), over HTTPS when the
//! socket is `wss://`. The app (key, secret, auth) is the same on every node.
//!
//! Error messages quote only the name and the part that is wrong, and never user info.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use std::fmt;
use url::Url;

/// The most nodes watched at once: each is a full connection, and the delivery matrix
/// grows with the square.
pub const MAX_NODES: usize = 16;

/// One node: its name and where its socket and HTTP API are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The node's HTTP API base, `http(s)://HOST:PORT` (no trailing slash).
    pub api: String,
}

impl NodeSpec {
    /// The value as written in a flag or the file: `ws://HOST:PORT,http://HOST:PORT`.
    pub fn url_text(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!(
            "{scheme}://{}:{},{}",
            host_in_url(&self.host),
            self.port,
            self.api
        )
    }
}

fn host_in_url(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A node's name: 1 to 32 ASCII letters, digits, `-`, `_` or `.`, as it appears in records
/// and on the screen.
pub fn check_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            "node name {:?} must be 1 to 32 ASCII letters, digits, '-', '_' or '.'",
            name.chars().take(40).collect::<String>()
        ))
    }
}

/// `NAME=URL`, as `--node` takes it.
pub fn parse_flag(s: &str) -> Result<NodeSpec, String> {
    let Some((name, url)) = s.split_once('=') else {
        return Err("expected NAME=URL, e.g. a=ws://10.0.0.1:6001".into());
    };
    parse_url(&check_name(name.trim())?, url.trim())
}

/// A node's `URL` (`ws[s]://HOST:PORT[,http[s]://HOST:PORT]`).
pub fn parse_url(name: &str, s: &str) -> Result<NodeSpec, String> {
    let (socket, api) = match s.split_once(',') {
        Some((socket, api)) => (socket.trim(), Some(api.trim())),
        None => (s.trim(), None),
    };
    let fail = |what: String| format!("node {name}: {what}");
    let url = Url::parse(socket).map_err(|e| fail(format!("not a ws:// or wss:// URL ({e})")))?;
    let tls = match url.scheme() {
        "ws" => false,
        "wss" => true,
        other => {
            return Err(fail(format!(
                "unknown scheme \"{other}://\"; use ws:// or wss://"
            )));
        }
    };
    plain_origin(&url).map_err(&fail)?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| fail("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(if tls { 443 } else { 80 });
    let api = match api {
        Some(api) => {
            let url = Url::parse(api)
                .map_err(|e| fail(format!("its HTTP API is not an http:// URL ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(fail("its HTTP API must be http:// or https://".into()));
            }
            plain_origin(&url).map_err(&fail)?;
            url.origin().ascii_serialization()
        }
        None => {
            let scheme = if tls { "https" } else { "http" };
            format!("{scheme}://{}:{port}", host_in_url(&host))
        }
    };
    Ok(NodeSpec {
        name: name.to_string(),
        tls,
        host,
        port,
        api,
    })
}

/// Only scheme, host and port: a node's URL says where it is, nothing else.
fn plain_origin(url: &Url) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL takes no user info (the app's credentials are set once)".into());
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the URL takes only scheme, host and port (set a path prefix with --path)".into(),
        );
    }
    Ok(())
}

/// Nodes from several `--node` flags: names must be unique, at most [`MAX_NODES`].
pub fn check_list(nodes: &[NodeSpec]) -> Result<(), String> {
    if nodes.len() > MAX_NODES {
        return Err(format!(
            "{} nodes given; at most {MAX_NODES} are watched at once",
            nodes.len()
        ));
    }
    for (i, node) in nodes.iter().enumerate() {
        if nodes[..i].iter().any(|n| n.name == node.name) {
            return Err(format!(
                "node name {:?} is given twice; each node needs a name of its own",
                node.name
            ));
        }
    }
    Ok(())
}

/// The `nodes` table: `name = "URL"` per node, in the file's order.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<NodeSpec>>, D::Error> {
    struct Table;
    impl<'de> Visitor<'de> for Table {
        type Value = Vec<NodeSpec>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table of node names to URLs, e.g. a = \"ws://10.0.0.1:6001\"")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<NodeSpec>, A::Error> {
            let mut nodes = Vec::new();
            while let Some((name, url)) = map.next_entry::<String, String>()? {
                let name = check_name(&name).map_err(de::Error::custom)?;
                nodes.push(parse_url(&name, &url).map_err(de::Error::custom)?);
            }
            check_list(&nodes).map_err(de::Error::custom)?;
            Ok(nodes)
        }
    }
    d.deserialize_map(Table).map(Some)
}

pub fn serialize<S: Serializer>(nodes: &Option<Vec<NodeSpec>>, s: S) -> Result<S::Ok, S::Error> {
    serialize_list(nodes.as_deref().unwrap_or_default(), s)
}

/// The list as the `nodes` table.
pub fn serialize_list<S: Serializer>(nodes: &[NodeSpec], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(nodes.len()))?;
    for node in nodes {
        map.serialize_entry(&node.name, &node.url_text())?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_names_a_socket_and_defaults_the_api_to_it() {
        let n = parse_flag("a=ws://127.0.0.1:6001").unwrap();
        assert_eq!(
            n,
            NodeSpec {
                name: "a".into(),
                tls: false,
                host: "127.0.0.1".into(),
                port: 6001,
                api: "http://127.0.0.1:6001".into(),
            }
        );
        let n = parse_flag("eu-1=wss://ws.example.com").unwrap();
        assert_eq!((n.tls, n.port), (true, 443));
        assert_eq!(n.api, "https://ws.example.com:443");
        assert_eq!(
            n.url_text(),
            "wss://ws.example.com:443,https://ws.example.com:443"
        );
    }

    #[test]
    fn the_api_may_be_elsewhere() {
        let n = parse_flag("b=ws://10.0.0.2:6001,http://10.0.0.2:6002/").unwrap();
        assert_eq!(n.api, "http://10.0.0.2:6002");
        assert_eq!(parse_url("c", &n.url_text()).unwrap().api, n.api);
    }

    #[test]
    fn bad_values_say_what_is_wrong_without_quoting_credentials() {
        for (flag, words) in [
            ("ws://h:1", "expected NAME=URL"),
            ("=ws://h:1", "node name"),
            ("a b=ws://h:1", "node name"),
            ("a=http://h:1", "use ws:// or wss://"),
            ("a=ws://user:s3cret@h:1", "no user info"),
            ("a=ws://h:1/app/key", "only scheme, host and port"),
            ("a=ws://h:1,ftp://h:2", "must be http"),
            ("a=nonsense", "not a ws://"),
        ] {
            let e = parse_flag(flag).unwrap_err();
            assert!(e.contains(words), "{flag}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn names_are_unique() {
        let a = parse_flag("a=ws://h:1").unwrap();
        let e = check_list(&[a.clone(), parse_flag("b=ws://h:2").unwrap(), a]).unwrap_err();
        assert!(e.contains("\"a\" is given twice"), "{e}");
    }

    #[test]
    fn the_table_keeps_its_order_and_checks_each_url() {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(deserialize_with = "deserialize")]
            nodes: Option<Vec<NodeSpec>>,
        }
        let f: File = toml::from_str("[nodes]\nb = \"ws://h:2\"\na = \"ws://h:1\"\n").unwrap();
        let names: Vec<_> = f.nodes.unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names.len(), 2);
        let e = toml::from_str::<File>("[nodes]\na = \"http://h:1\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("node a"), "{e}");
    }
}
