//! Watching a real sockudo cluster: Redis and three sockudo nodes (adapter and cache on
//! Redis), one headless chanwatch with a `--node` per node. The full delivery matrix; a
//! node killed with `kill -9` (its row and column lose, its presence member stays on the
//! others as a ghost), then restarted; Redis stopped (each node delivers only its own
//! publishes: the adapter is failing, and the records say so) and restarted; a node's own
//! HTTP API forgetting a member its socket still lists. The times until chanwatch shows
//! each fault are printed (`--nocapture`) for the closing note.

use crate::support::cluster::{NAMES, SockudoCluster};
use crate::support::headless::{Headless, sockudo_args};
use serde_json::Value;
use std::time::{Duration, SystemTime};

const ROOM: &str = "presence-room";

/// A fault takes a few probe timeouts and a window to show; generous for a loaded machine.
const SHOWS_WITHIN: Duration = Duration::from_secs(45);

fn watch(cluster: &SockudoCluster, name: &str) -> Headless {
    let mut args: Vec<String> =
        strings(&["--headless", "--probe", "250ms", "--stats-interval", "1s"]);
    args.extend(cluster.args());
    args.extend(strings(&[
        "--user-id",
        "watcher",
        "--ghost-after",
        "2s",
        "--subscribe",
        ROOM,
        // Activity checks fast enough that a dead node's socket is noticed in seconds.
        "--activity-timeout",
        "3s",
        "--pong-timeout",
        "2s",
    ]));
    Headless::spawn(name, &args)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn cell<'a>(delivery: &'a Value, from: &str, to: &str) -> &'a Value {
    delivery["cells"]
        .as_array()
        .and_then(|cells| cells.iter().find(|c| c["from"] == from && c["to"] == to))
        .unwrap_or_else(|| panic!("no cell {from}->{to} in {delivery}"))
}

fn received(delivery: &Value, from: &str, to: &str) -> u64 {
    cell(delivery, from, to)["received"].as_u64().unwrap_or(0)
}

/// The first record from index `mark` of what was read that matches, read already or
/// waited for.
async fn first_since(
    c: &mut Headless,
    mark: usize,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    if let Some(r) = c.seen()[mark..].iter().find(|r| pred(r)) {
        return r.clone();
    }
    c.wait_for_within(what, SHOWS_WITHIN, pred).await
}

/// How long after `since` the record was produced (its `ts`).
fn after(record: &Value, since: SystemTime) -> Duration {
    let ts = humantime::parse_rfc3339(record["ts"].as_str().expect("a ts")).expect("RFC 3339");
    ts.duration_since(since).unwrap_or_default()
}

fn is_delivery(r: &Value) -> bool {
    r["type"] == "delivery"
}

/// Every cell has delivered probes and lost none.
fn full_matrix(r: &Value, nodes: &[&str]) -> bool {
    is_delivery(r)
        && nodes.iter().all(|from| {
            nodes.iter().all(|to| {
                let c = cell(r, from, to);
                c["received"].as_u64().unwrap_or(0) >= 2 && c["loss"] == 0.0
            })
        })
}

/// Wait until every node's connection has reported `connected`.
async fn all_connected(c: &mut Headless, nodes: &[&str]) {
    for node in nodes {
        let node = node.to_string();
        c.seen_or_wait_for(&format!("node {node} connected"), |r| {
            r["type"] == "state" && r["current"] == "connected" && r["node"] == node.as_str()
        })
        .await;
    }
}

#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_real_cluster_delivers_everywhere_loses_a_killed_node_and_recovers() {
    let mut cluster = SockudoCluster::start(3);
    let nodes = &NAMES[..3];
    let mut c = watch(&cluster, "cluster");
    all_connected(&mut c, nodes).await;

    // Every record of a node says which node; every node's watcher is a member of its own.
    let full = c
        .wait_for("a full delivery matrix", |r| full_matrix(r, nodes))
        .await;
    assert!(full["diagnosis"].is_null(), "{full}");
    assert!(
        c.seen()
            .iter()
            .filter(|r| r["type"] == "state")
            .all(|r| r["node"].is_string()),
        "{}",
        c.context()
    );
    for node in nodes {
        let me = format!("watcher@{node}");
        let node = node.to_string();
        c.seen_or_wait_for(&format!("{node}'s roster"), |r| {
            r["type"] == "members" && r["node"] == node.as_str() && r["me"]["id"] == me.as_str()
        })
        .await;
    }
    // Once the rosters have settled, every node lists all three watchers: no ghost.
    let settled = c.drain_for(Duration::from_secs(3)).await;
    assert!(
        !settled
            .iter()
            .any(|r| r["type"] == "divergence" && r["ghost"] == true),
        "a ghost in a healthy cluster:\n{}",
        c.context()
    );

    // kill -9 of node c: its row (its API) and its column (its socket) lose.
    let mark = c.mark();
    cluster.nodes[2].kill();
    let killed = SystemTime::now();
    let down = first_since(&mut c, mark, "node c's connection lost", |r| {
        r["type"] == "state" && r["node"] == "c" && r["previous"] == "connected"
    })
    .await;
    let lost = first_since(&mut c, mark, "node c's row and column losing", |r| {
        is_delivery(r)
            && r["api_errors"]["c"].is_string()
            && cell(r, "a", "c")["loss"].as_f64().unwrap_or(0.0) > 0.0
    })
    .await;
    assert!(received(&lost, "a", "b") > 0, "{lost}");
    let ghost = first_since(&mut c, mark, "c's member flagged as a ghost", |r| {
        r["type"] == "divergence"
            && r["kind"] == "members"
            && r["channel"] == ROOM
            && r["member"] == "watcher@c"
            && r["ghost"] == true
    })
    .await;
    assert_eq!(ghost["missing_on"], serde_json::json!(["c"]), "{ghost}");
    eprintln!(
        "real cluster: after kill -9 of node c, its connection was seen lost after {:?}, its \
         row and column lost in a delivery record after {:?}, its member flagged a ghost \
         after {:?} (ghost threshold 2 s, reports every 1 s)",
        after(&down, killed),
        after(&lost, killed),
        after(&ghost, killed),
    );

    // Restarted, node c reconnects and its row and column deliver again.
    let mark = c.mark();
    cluster.nodes[2].restart();
    let restarted = SystemTime::now();
    let back = first_since(&mut c, mark, "node c connected again", |r| {
        r["type"] == "state" && r["current"] == "connected" && r["node"] == "c"
    })
    .await;
    let before = received(&lost, "a", "c");
    let delivering = first_since(&mut c, mark, "node c's cells delivering again", |r| {
        is_delivery(r)
            && r["api_errors"]["c"].is_null()
            && received(r, "a", "c") > before + 2
            && received(r, "c", "a") > 2
    })
    .await;
    eprintln!(
        "real cluster: node c restarted; connected again after {:?}, delivering both ways \
         after {:?}",
        after(&back, restarted),
        after(&delivering, restarted)
    );
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_cluster_without_its_redis_delivers_only_within_each_node() {
    let mut cluster = SockudoCluster::start(3);
    let nodes = &NAMES[..3];
    let mut c = watch(&cluster, "no-redis");
    all_connected(&mut c, nodes).await;
    c.wait_for("a full delivery matrix", |r| full_matrix(r, nodes))
        .await;

    cluster.redis.kill();
    let stopped = SystemTime::now();
    let failing = c
        .wait_for_within("the adapter failing, in words", SHOWS_WITHIN, |r| {
            is_delivery(r)
                && r["diagnosis"]
                    .as_str()
                    .is_some_and(|d| d.contains("adapter failing"))
        })
        .await;
    eprintln!(
        "real cluster: Redis stopped, \"adapter failing\" said after {:?}: {}",
        after(&failing, stopped),
        failing["diagnosis"]
    );
    // Same-node cells delivered; once the window has slid past the fault, the cross-node
    // ones have lost everything in it.
    let slid = c
        .wait_for_within("cross-node cells losing everything", SHOWS_WITHIN, |r| {
            is_delivery(r)
                && nodes.iter().all(|from| {
                    nodes.iter().all(|to| {
                        let cell = cell(r, from, to);
                        if from == to {
                            cell["received"].as_u64().unwrap_or(0) > 0
                        } else {
                            cell["sent"].as_u64().unwrap_or(0) > 0 && cell["loss"] == 1.0
                        }
                    })
                })
        })
        .await;
    eprintln!(
        "real cluster: Redis stopped, every cross-node cell at 100 % loss over the window \
         after {:?}",
        after(&slid, stopped)
    );

    cluster.redis.restart();
    let restarted = SystemTime::now();
    let healed = c
        .wait_for_within("cross-node delivery back", Duration::from_secs(90), |r| {
            is_delivery(r) && r["diagnosis"].is_null() && received(r, "a", "b") > 0
        })
        .await;
    eprintln!(
        "real cluster: Redis restarted, cross-node delivery back after {:?}",
        after(&healed, restarted)
    );
    let status = c.quit().await;
    assert!(status.success(), "{status:?}\n{}", cluster.logs());
}

/// Whether `r` is `node`'s roster record, or a join on it, that lists `member` in `ROOM`.
fn lists_member(r: &Value, node: &str, member: &str) -> bool {
    r["node"] == node
        && r["channel"] == ROOM
        && match r["type"].as_str() {
            Some("member_added") => r["id"] == member,
            Some("members") => r["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["id"] == member)),
            _ => false,
        }
}

/// The two-node sockudo run with a third party: `guest` connected through node b alone (a
/// plain chanwatch of its own), then `kill -9` of b. Node a's socket keeps the guest (no
/// `member_removed`) while node a's own HTTP API soon stops listing it: an `api_members`
/// divergence, a ghost once the API's answers have left it out for `--ghost-after`.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_member_its_nodes_own_api_forgot_after_another_node_died_is_a_ghost() {
    let mut cluster = SockudoCluster::start(2);
    let nodes = &NAMES[..2];
    let mut args: Vec<String> = strings(&[
        "--headless",
        "--stats-interval",
        "1s",
        "--occupancy-interval",
        "1s",
    ]);
    args.extend(cluster.args());
    args.extend(strings(&[
        "--user-id",
        "watcher",
        "--ghost-after",
        "2s",
        "-s",
        ROOM,
        "--activity-timeout",
        "3s",
        "--pong-timeout",
        "2s",
    ]));
    let mut c = Headless::spawn("api-members", &args);
    all_connected(&mut c, nodes).await;

    let secret = format!("--secret={}", crate::support::sockudo::SECRET);
    let b = cluster.nodes[1].port();
    let guest_args = sockudo_args(b, &[&secret, "--user-id", "guest", "-s", ROOM]);
    let mut guest = Headless::spawn("guest", &guest_args);
    guest.seen_or_wait_channel("subscribed", ROOM).await;
    for node in nodes {
        c.seen_or_wait_for(&format!("guest on {node}'s roster"), |r| {
            lists_member(r, node, "guest")
        })
        .await;
    }
    // Sockets and APIs agree once settled: no ghost.
    let settled = c.drain_for(Duration::from_secs(3)).await;
    assert!(
        !settled
            .iter()
            .any(|r| r["type"] == "divergence" && r["ghost"] == true),
        "a ghost in a healthy cluster:
{}",
        c.context()
    );

    let mark = c.mark();
    cluster.nodes[1].kill();
    let killed = SystemTime::now();
    let is_guest = |r: &Value| {
        r["type"] == "divergence"
            && r["kind"] == "api_members"
            && r["channel"] == ROOM
            && r["member"] == "guest"
            && r["resolved"].is_null()
    };
    let ghost = first_since(&mut c, mark, "the guest an api_members ghost on a", |r| {
        is_guest(r) && r["ghost"] == true
    })
    .await;
    assert_eq!(ghost["listed_on"], serde_json::json!(["a"]), "{ghost}");
    assert!(ghost["missing_on"].is_null(), "{ghost}");
    let first = first_since(&mut c, mark, "the guest's first api_members", is_guest).await;
    // a's socket never heard the guest leave.
    assert!(
        !c.seen()[mark..]
            .iter()
            .any(|r| r["type"] == "member_removed" && r["node"] == "a" && r["id"] == "guest"),
        "{}",
        c.context()
    );
    eprintln!(
        "real cluster: after kill -9 of node b, node a's API no longer listing the guest \
         (connected through b) while a's socket did was first reported after {:?}, and the \
         guest flagged an api_members ghost after {:?} (ghost threshold 2 s, APIs asked \
         every 1 s, reports every 1 s)",
        after(&first, killed),
        after(&ghost, killed),
    );
    guest.kill().await;
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

/// A node that is down at the start is shown as such (its connection keeps retrying, its
/// API cannot publish, its cells lose) while the others run and deliver to each other.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_node_down_at_the_start_is_shown_while_the_others_run() {
    let cluster = SockudoCluster::start(2);
    let dead = crate::support::sockudo::free_port();
    let mut args: Vec<String> =
        strings(&["--headless", "--probe", "250ms", "--stats-interval", "1s"]);
    args.extend(cluster.args());
    args.extend(["--node".to_string(), format!("z=ws://127.0.0.1:{dead}")]);
    let mut c = Headless::spawn("dead-node", &args);
    all_connected(&mut c, &["a", "b"]).await;
    c.seen_or_wait_for("node z failing to connect", |r| {
        r["node"] == "z" && (r["type"] == "connecting_in" || r["type"] == "error")
    })
    .await;
    let r = c
        .wait_for_within("a and b delivering, z losing", SHOWS_WITHIN, |r| {
            is_delivery(r)
                && full_matrix(r, &["a", "b"])
                && r["api_errors"]["z"].is_string()
                && cell(r, "a", "z")["loss"] == 1.0
        })
        .await;
    assert!(
        r["diagnosis"]
            .as_str()
            .is_some_and(|d| d.contains("node z")),
        "{r}"
    );
    assert!(
        !c.seen()
            .iter()
            .any(|r| r["type"] == "state" && r["node"] == "z" && r["current"] == "connected"),
        "{}",
        c.context()
    );
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

/// With one connection, or one node, no record carries a node: the output is what it was.
#[tokio::test]
async fn one_node_adds_no_node_field() {
    let args: Vec<String> = strings(&[
        "demo",
        "--headless",
        "--nodes",
        "1",
        "--stats-interval",
        "1s",
    ]);
    let mut c = Headless::spawn("one-node", &args);
    c.wait_state("connected").await;
    c.wait_for("a stats record", |r| r["type"] == "stats").await;
    assert!(
        c.seen().iter().all(|r| r.get("node").is_none()),
        "{}",
        c.context()
    );
    assert!(
        !c.seen()
            .iter()
            .any(|r| r["type"] == "delivery" || r["type"] == "divergence"),
        "{}",
        c.context()
    );
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

/// The demo cluster headless: every record of a node says which node, and the matrix and
/// a killed node's ghost show without any server.
#[tokio::test]
async fn the_demo_cluster_reports_its_matrix_and_a_killed_nodes_ghost() {
    let args: Vec<String> = strings(&[
        "demo",
        "--headless",
        "--nodes",
        "3",
        "--stats-interval",
        "1s",
        "--ghost-after",
        "1s",
    ]);
    let mut c = Headless::spawn("demo-cluster", &args);
    all_connected(&mut c, &["a", "b", "c"]).await;
    c.wait_for_within("a full matrix", SHOWS_WITHIN, |r| {
        full_matrix(r, &["a", "b", "c"])
    })
    .await;
    c.send(serde_json::json!({"cmd":"fault","kind":"kill_node","node":"c"}))
        .await;
    c.wait_for("the fault", |r| r["type"] == "fault").await;
    c.wait_for_within("c's own member a ghost", SHOWS_WITHIN, |r| {
        r["type"] == "divergence" && r["member"] == "you@c" && r["ghost"] == true
    })
    .await;
    c.wait_for_within("c's column lost", SHOWS_WITHIN, |r| {
        is_delivery(r) && r["api_errors"]["c"].is_string()
    })
    .await;
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

/// Without an app id and secret there is no HTTP API to publish through: chanwatch says
/// once that the delivery matrix is off and watches every node all the same.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn without_the_http_api_the_matrix_is_off_and_the_nodes_are_watched() {
    let cluster = SockudoCluster::start(2);
    let mut args: Vec<String> = strings(&["--headless", "--stats-interval", "1s", "--no-tls"]);
    args.extend(["--key".into(), crate::support::sockudo::KEY.into()]);
    for (name, node) in NAMES.iter().zip(&cluster.nodes) {
        args.extend([
            "--node".into(),
            format!("{name}=ws://127.0.0.1:{}", node.port()),
        ]);
    }
    let mut c = Headless::spawn("no-api", &args);
    let said = c
        .wait_for("the matrix said to be off", |r| {
            r["type"] == "command_error" && r["cmd"] == "probe"
        })
        .await;
    assert!(said["node"].is_null(), "{said}");
    all_connected(&mut c, &["a", "b"]).await;
    let later = c.drain_for(Duration::from_secs(3)).await;
    assert!(!later.iter().any(is_delivery), "{}", c.context());
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}

/// A stdin command with `"node"` acts on that node alone; an unknown node is an error that
/// names the nodes.
#[tokio::test]
async fn a_command_with_a_node_acts_on_that_node_alone() {
    let args: Vec<String> = strings(&["demo", "--headless", "--nodes", "3"]);
    let mut c = Headless::spawn("node-command", &args);
    all_connected(&mut c, &["a", "b", "c"]).await;
    let mark = c.mark();
    c.send(serde_json::json!({"cmd":"disconnect","node":"b"}))
        .await;
    c.wait_for("b disconnected", |r| {
        r["type"] == "state" && r["node"] == "b" && r["current"] == "disconnected"
    })
    .await;
    c.send(serde_json::json!({"cmd":"list_users","channel":"presence-lobby","node":"c"}))
        .await;
    let users = c.wait_for("c's answer", |r| r["type"] == "users").await;
    assert_eq!(users["node"], "c", "{users}");
    c.send(serde_json::json!({"cmd":"connect","node":"z"}))
        .await;
    let error = c
        .wait_for("an unknown node", |r| r["type"] == "command_error")
        .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("no node \"z\"") && m.contains("a, b, c")),
        "{error}"
    );
    assert!(
        !c.seen()[mark..]
            .iter()
            .any(|r| r["type"] == "state" && r["current"] == "disconnected" && r["node"] != "b"),
        "{}",
        c.context()
    );
    let status = c.quit().await;
    assert!(status.success(), "{status:?}");
}
