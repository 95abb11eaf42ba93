//! The demo cluster (`chanwatch demo --nodes N`): nodes joined in-process, driven by raw
//! WebSocket clients and the signed HTTP API on each node's port, then by the core client
//! through `setup::demo::start_cluster`. Loopback only.

use crate::support::{BOUND, Watch};
use chanwatch::demo::{DemoCluster, DemoConfig, DemoHandle};
use chanwatch::faults::{FaultError, FaultKind};
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::record::{Record, State};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Generous: the machine is slow and shared. Only ever an upper bound on waiting.
const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(400);
const ROOM: &str = "presence-room";

struct Client {
    ws: Ws,
    socket_id: String,
}

impl Client {
    async fn connect(node: &DemoHandle) -> Client {
        let (mut ws, _) = timeout(WAIT, connect_async(node.ws_url()))
            .await
            .expect("connect in time")
            .expect("connect");
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["event"], "pusher:connection_established");
        let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
        Client {
            ws,
            socket_id: data["socket_id"].as_str().unwrap().to_string(),
        }
    }

    /// Subscribe (authorized by the node, as `user` on presence) and wait for success.
    async fn subscribe(&mut self, node: &DemoHandle, channel: &str, user: Option<&str>) -> Value {
        let mut data = json!({ "channel": channel });
        if channel.starts_with("presence-") || channel.starts_with("private-") {
            let grant = node
                .authorize(
                    &self.socket_id,
                    channel,
                    user,
                    Some(json!({ "name": user })),
                )
                .unwrap();
            data["auth"] = Value::from(grant.auth);
            if let Some(cd) = grant.channel_data {
                data["channel_data"] = Value::from(cd);
            }
        }
        let msg = json!({ "event": "pusher:subscribe", "data": data });
        self.ws.send(Message::text(msg.to_string())).await.unwrap();
        let ok = self.expect("pusher_internal:subscription_succeeded").await;
        assert_eq!(ok["channel"], channel);
        serde_json::from_str(ok["data"].as_str().unwrap()).unwrap()
    }

    /// The next frame named `event`, skipping others (bounded).
    async fn expect(&mut self, event: &str) -> Value {
        timeout(WAIT, async {
            loop {
                let v = next_json(&mut self.ws).await;
                if v["event"] == event {
                    return v;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {event} within {WAIT:?}"))
    }

    /// The member id of the next `member_added` or `member_removed` (named `event`).
    async fn expect_member(&mut self, event: &str) -> String {
        let v = self.expect(&format!("pusher_internal:{event}")).await;
        let data: Value = serde_json::from_str(v["data"].as_str().unwrap()).unwrap();
        data["user_id"].as_str().unwrap().to_string()
    }

    /// Every text frame for `d`, as `event data` lines.
    async fn frames_for(&mut self, d: Duration) -> Vec<String> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                out.push(format!("{} {}", v["event"], v["data"]));
            }
        }
        out
    }

    async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("no frame in time")
            .expect("socket ended")
            .expect("socket error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

fn api(node: &DemoHandle) -> HttpApi {
    HttpApi::new(node.http_url(), node.app_id(), node.key(), node.secret())
}

async fn publish(node: &DemoHandle, text: &str) {
    api(node)
        .trigger(&["news".to_string()], "headline", text, None)
        .await
        .expect("the node's API takes the publish");
}

fn members(presence: &Value) -> Vec<String> {
    let mut ids: Vec<String> = presence["presence"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn cluster() -> (DemoCluster, Vec<DemoHandle>) {
    let cluster = DemoCluster::start(DemoConfig::default(), 3).await.unwrap();
    assert_eq!(cluster.names(), ["a", "b", "c"]);
    let nodes = cluster.handles();
    let ports: std::collections::BTreeSet<u16> = nodes.iter().map(|n| n.addr().port()).collect();
    assert_eq!(ports.len(), 3, "each node on its own port");
    (cluster, nodes)
}

/// One client per node on `news` and in `presence-room` as `ua`, `ub`, `uc`.
async fn room(nodes: &[DemoHandle]) -> Vec<Client> {
    let mut clients = Vec::new();
    for (node, user) in nodes.iter().zip(["ua", "ub", "uc"]) {
        let mut c = Client::connect(node).await;
        c.subscribe(node, "news", None).await;
        c.subscribe(node, ROOM, Some(user)).await;
        clients.push(c);
    }
    // Every member_added arrives first, so that later frames are about what the test does.
    for (i, c) in clients.iter_mut().enumerate() {
        for later in ["ua", "ub", "uc"].iter().skip(i + 1) {
            assert_eq!(c.expect_member("member_added").await, *later);
        }
    }
    clients
}

fn kill(node: &str) -> FaultKind {
    FaultKind::KillNode { node: node.into() }
}

#[tokio::test]
async fn a_publish_through_any_node_reaches_every_node() {
    let (_cluster, nodes) = cluster().await;
    let mut clients = Vec::new();
    for node in &nodes {
        let mut c = Client::connect(node).await;
        c.subscribe(node, "news", None).await;
        clients.push(c);
    }
    for (i, via) in nodes.iter().enumerate() {
        publish(via, &format!("through {i}")).await;
        for c in &mut clients {
            let v = c.expect("headline").await;
            assert_eq!(v["data"], format!("through {i}"));
        }
    }
    // Every node's API lists the whole cluster's subscribers.
    for node in &nodes {
        let listing = api(node)
            .channels_with_info(None, Some("subscription_count"))
            .await
            .unwrap();
        assert_eq!(listing["channels"]["news"]["subscription_count"], 3);
    }
}

#[tokio::test]
async fn presence_is_cluster_wide() {
    let (_cluster, nodes) = cluster().await;
    let mut a = Client::connect(&nodes[0]).await;
    a.subscribe(&nodes[0], ROOM, Some("ua")).await;
    let mut b = Client::connect(&nodes[1]).await;
    let pres = b.subscribe(&nodes[1], ROOM, Some("ub")).await;
    assert_eq!(members(&pres), ["ua", "ub"]);
    assert_eq!(a.expect_member("member_added").await, "ub");
    let mut c = Client::connect(&nodes[2]).await;
    let pres = c.subscribe(&nodes[2], ROOM, Some("uc")).await;
    assert_eq!(members(&pres), ["ua", "ub", "uc"]);
    assert_eq!(a.expect_member("member_added").await, "uc");
    assert_eq!(b.expect_member("member_added").await, "uc");
    for node in &nodes {
        assert_eq!(
            api(node).channel_users(ROOM).await.unwrap(),
            ["ua", "ub", "uc"]
        );
    }
    // Client events cross nodes too.
    let hi = json!({"event": "client-hi", "channel": ROOM, "data": {"n": 1}});
    a.ws.send(Message::text(hi.to_string())).await.unwrap();
    assert_eq!(c.expect("client-hi").await["user_id"], "ua");
    b.close().await;
    assert_eq!(a.expect_member("member_removed").await, "ub");
    assert_eq!(c.expect_member("member_removed").await, "ub");
    assert_eq!(
        api(&nodes[2]).channel_users(ROOM).await.unwrap(),
        ["ua", "uc"]
    );
}

#[tokio::test]
async fn a_killed_node_drops_its_sockets_refuses_connections_and_leaves_ghosts() {
    let (cluster, nodes) = cluster().await;
    let mut clients = room(&nodes).await;
    cluster.inject(&kill("c")).unwrap();
    assert!(!cluster.is_alive("c") && cluster.is_alive("a"));
    // Its socket ends without a close frame.
    let mut c = clients.pop().unwrap();
    let end = timeout(WAIT, async {
        loop {
            match c.ws.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the socket ends");
    assert_eq!(end, None, "no close frame from a killed node");
    // It refuses connections: WebSocket and HTTP API alike.
    let refused = TcpStream::connect(nodes[2].addr()).await;
    assert!(refused.is_err(), "a killed node refuses connections");
    assert!(api(&nodes[2]).channels(None).await.is_err());
    // The others never say uc left: a ghost on their sockets' rosters ...
    for c in &mut clients {
        let frames = c.frames_for(QUIET).await;
        assert!(frames.is_empty(), "{frames:?}");
    }
    assert_eq!(cluster.roster("a", ROOM), ["ua", "ub", "uc"]);
    // ... while the live nodes' APIs list only live members, as sockudo's did.
    assert_eq!(
        api(&nodes[0]).channel_users(ROOM).await.unwrap(),
        ["ua", "ub"]
    );
    // The live nodes still deliver.
    publish(&nodes[0], "still here").await;
    for c in &mut clients {
        assert_eq!(c.expect("headline").await["data"], "still here");
    }

    // restore: the node listens on the same port again, and the ghost is removed.
    cluster.inject(&FaultKind::Restore).unwrap();
    assert!(cluster.is_alive("c"));
    for c in &mut clients {
        assert_eq!(c.expect_member("member_removed").await, "uc");
    }
    let mut again = Client::connect(&nodes[2]).await;
    let pres = again.subscribe(&nodes[2], ROOM, Some("uc")).await;
    assert_eq!(members(&pres), ["ua", "ub", "uc"]);
    for c in &mut clients {
        assert_eq!(c.expect_member("member_added").await, "uc");
    }
}

#[tokio::test]
async fn a_partitioned_node_is_isolated_both_ways_until_restored() {
    let (cluster, nodes) = cluster().await;
    let mut clients = room(&nodes).await;
    cluster
        .inject(&FaultKind::Partition { node: "c".into() })
        .unwrap();
    assert!(cluster.is_partitioned("c"));
    publish(&nodes[0], "from a").await;
    publish(&nodes[2], "from c").await;
    // In order on each socket: c's first headline is its own, a's and b's are a's.
    assert_eq!(clients[2].expect("headline").await["data"], "from c");
    for c in &mut clients[..2] {
        assert_eq!(c.expect("headline").await["data"], "from a");
    }
    for c in &mut clients {
        let frames = c.frames_for(QUIET).await;
        assert!(frames.is_empty(), "nothing crosses: {frames:?}");
    }
    // Presence does not cross either way: a member joining through c, one leaving on b.
    let mut d = Client::connect(&nodes[2]).await;
    let pres = d.subscribe(&nodes[2], ROOM, Some("ud")).await;
    assert_eq!(members(&pres), ["uc", "ud"], "c lists what it can reach");
    assert_eq!(clients[2].expect_member("member_added").await, "ud");
    let b = clients.remove(1);
    b.close().await;
    assert_eq!(clients[0].expect_member("member_removed").await, "ub");
    assert!(
        clients[0].frames_for(QUIET).await.is_empty(),
        "a never hears of ud"
    );
    assert!(
        clients[1].frames_for(QUIET).await.is_empty(),
        "c never hears ub left"
    );
    assert_eq!(cluster.roster("c", ROOM), ["ua", "ub", "uc", "ud"]);
    // c's own sockets and API keep working.
    assert_eq!(
        api(&nodes[2]).channel_users(ROOM).await.unwrap(),
        ["uc", "ud"]
    );

    // restore re-syncs both sides.
    cluster.inject(&FaultKind::Restore).unwrap();
    assert_eq!(clients[0].expect_member("member_added").await, "ud");
    assert_eq!(clients[1].expect_member("member_removed").await, "ub");
    publish(&nodes[2], "together").await;
    assert_eq!(clients[0].expect("headline").await["data"], "together");
}

#[tokio::test]
async fn a_node_that_keeps_members_lists_the_departed() {
    let (cluster, nodes) = cluster().await;
    let mut clients = room(&nodes).await;
    cluster
        .inject(&FaultKind::KeepMember { node: "b".into() })
        .unwrap();
    let a = clients.remove(0);
    a.close().await;
    assert_eq!(clients[1].expect_member("member_removed").await, "ua");
    assert!(clients[0].frames_for(QUIET).await.is_empty(), "b keeps ua");
    assert_eq!(
        api(&nodes[1]).channel_users(ROOM).await.unwrap(),
        ["ua", "ub", "uc"]
    );
    assert_eq!(
        api(&nodes[2]).channel_users(ROOM).await.unwrap(),
        ["ub", "uc"]
    );
    cluster.inject(&FaultKind::Restore).unwrap();
    assert_eq!(clients[0].expect_member("member_removed").await, "ua");
    assert!(!cluster.keeps_members("b"));
}

#[tokio::test]
async fn faults_name_known_nodes_and_per_node_faults_stay_per_node() {
    let (cluster, nodes) = cluster().await;
    let err = cluster.inject(&kill("z")).unwrap_err();
    assert_eq!(
        err,
        FaultError::UnknownNode {
            node: "z".into(),
            known: vec!["a".into(), "b".into(), "c".into()]
        }
    );
    assert!(err.to_string().contains("a, b, c"), "{err}");
    assert!(matches!(
        cluster.inject(&FaultKind::Cut),
        Err(FaultError::NeedsProxy(_))
    ));
    // A node's own handle takes no_pong for itself alone, and no cluster fault.
    nodes[1].apply_fault(&FaultKind::NoPong).unwrap();
    assert!(!nodes[1].answers_pings() && nodes[0].answers_pings());
    assert!(matches!(
        nodes[1].apply_fault(&kill("b")),
        Err(FaultError::NeedsDemoCluster(_))
    ));
    cluster.inject(&FaultKind::Restore).unwrap();
    assert!(nodes[1].answers_pings());
    // Killing and restoring at once gets the same port back.
    let port = nodes[0].addr().port();
    cluster.inject(&kill("a")).unwrap();
    cluster.inject(&FaultKind::Restore).unwrap();
    let c = Client::connect(&nodes[0]).await;
    assert_eq!(nodes[0].addr().port(), port);
    c.close().await;
}

/// `setup::demo::start_cluster` as the session will use it: one core client per node, each
/// its own presence member, every node's watcher sees the others.
#[tokio::test]
async fn start_cluster_describes_one_connection_per_node() {
    let (setup, nodes, cluster) = chanwatch::setup::demo::start_cluster(3, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        setup
            .dashboard
            .nodes
            .iter()
            .map(|n| &**n)
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert!(setup.dashboard.demo && setup.webhooks.is_some());
    assert_eq!(nodes.len(), 3);
    let ports: std::collections::BTreeSet<u16> = nodes
        .iter()
        .map(|n| n.client.machine.endpoint.ws_port)
        .collect();
    assert_eq!(ports.len(), 3);
    assert_eq!(
        setup.client.machine.endpoint.ws_port,
        nodes[0].client.machine.endpoint.ws_port
    );
    for node in &nodes {
        assert!(
            node.client
                .subscribe
                .iter()
                .any(|c| c == "chanwatch-cluster-probe")
        );
        assert!(node.api.is_some() && node.extras.demo.is_some());
        assert!(node.extras.proxy.is_none());
    }
    assert_eq!(
        nodes.iter().filter(|n| n.extras.traffic.is_some()).count(),
        1,
        "one traffic generator for the cluster"
    );
    let mut watches: Vec<Watch> = nodes
        .iter()
        .map(|n| Watch::spawn(n.client.clone(), n.auth.clone()))
        .collect();
    for w in &mut watches {
        w.wait_state(State::Connected).await;
    }
    // Each watcher ends up seeing all three of you@a, you@b and you@c in the lobby.
    for (w, name) in watches.iter_mut().zip(["a", "b", "c"]) {
        let me = format!("you@{name}");
        let deadline = tokio::time::Instant::now() + BOUND;
        let mut present = std::collections::BTreeSet::new();
        loop {
            let r = w
                .wait_for_within("lobby members", deadline - tokio::time::Instant::now(), |r| {
                    matches!(r, Record::Members { channel, .. } | Record::MemberAdded { channel, .. }
                        | Record::MemberRemoved { channel, .. } if channel == "presence-lobby")
                })
                .await;
            match r {
                Record::Members { me: m, members, .. } => {
                    assert_eq!(m.map(|m| m.id), Some(me.clone()));
                    present = members.into_iter().map(|m| m.id).collect();
                }
                Record::MemberAdded { id, .. } => {
                    present.insert(id);
                }
                Record::MemberRemoved { id, .. } => {
                    present.remove(&id);
                }
                _ => unreachable!(),
            }
            if ["you@a", "you@b", "you@c"]
                .iter()
                .all(|u| present.contains(*u))
            {
                break;
            }
        }
    }
    // A probe published through node b's API reaches every node's connection.
    nodes[1]
        .api
        .as_ref()
        .unwrap()
        .trigger(
            &["chanwatch-cluster-probe".to_string()],
            "chanwatch:cluster-probe",
            r#"{"seq":1}"#,
            None,
        )
        .await
        .unwrap();
    for w in &mut watches {
        w.wait_for(
            "the probe",
            |r| matches!(r, Record::Event { event, .. } if event == "chanwatch:cluster-probe"),
        )
        .await;
    }
    // kill_node b: b's watcher loses its socket, the others keep you@b.
    cluster.inject(&kill("b")).unwrap();
    watches[1]
        .wait_for("b's connection to drop", |r| {
            matches!(
                r,
                Record::State {
                    previous: State::Connected,
                    ..
                }
            )
        })
        .await;
    for w in watches.iter_mut().step_by(2) {
        let later = w.collect_for(QUIET).await;
        assert!(
            !later
                .iter()
                .any(|r| matches!(r, Record::MemberRemoved { id, .. } if id == "you@b")),
            "{later:?}"
        );
    }
    for w in watches {
        w.quit().await;
    }
}
