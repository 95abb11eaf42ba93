use super::*;

const T: Thresholds = Thresholds {
    warn: Duration::from_millis(500),
    crit: Duration::from_secs(2),
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn step(name: StepName, n: u64) -> Step {
    Step {
        name,
        ok: true,
        duration: ms(n),
        detail: String::new(),
    }
}

fn node(name: &str) -> NodeOutcome {
    NodeOutcome {
        name: name.into(),
        target: format!("ws://127.0.0.1:600{}", name.len()),
        steps: vec![
            step(StepName::Resolve, 0),
            step(StepName::Tcp, 1),
            step(StepName::Websocket, 1),
            step(StepName::ConnectionEstablished, 1),
            step(StepName::Subscribe, 2),
            step(StepName::Publish, 3),
        ],
    }
}

/// Every pair of `names`, each probe delivered in `latency(from, to, seq)` ms (`None`:
/// lost).
fn pairs(names: &[&str], latency: impl Fn(&str, &str, u32) -> Option<u64>) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for from in names {
        for to in names {
            pairs.push(Pair {
                from: from.to_string(),
                to: to.to_string(),
                samples: (1..=3)
                    .map(|seq| PairSample {
                        seq,
                        latency: latency(from, to, seq).map(ms),
                    })
                    .collect(),
            });
        }
    }
    pairs
}

fn outcome(latency: impl Fn(&str, &str, u32) -> Option<u64>) -> ClusterOutcome {
    let names = ["a", "b", "c"];
    ClusterOutcome {
        nodes: names.iter().map(|n| node(n)).collect(),
        pairs: pairs(&names, latency),
        delivery: Delivery::Checked { planned: 3 },
        delivery_step: Some(step(StepName::Delivery, 40)),
        notes: vec![],
        total: ms(100),
    }
}

#[test]
fn a_healthy_cluster_is_ok_with_every_pair_in_the_perfdata() {
    let o = outcome(|from, to, seq| Some(u64::from(seq) + u64::from(from != to) * 10));
    let v = judge(&o, T);
    assert_eq!((v.status, v.status.exit_code()), (Status::Ok, 0));
    assert!(v.reasons.is_empty());
    assert_eq!(
        v.summary,
        "3 nodes (a, b, c) connected in 3.0 ms at most and subscribed, 9/9 pairs delivered \
         27/27 probes, latency p99 13 ms at most (a->b)"
    );
    assert!(
        v.perfdata.starts_with(
            "time=100ms 'a_connect'=3ms 'a_subscribe'=2ms 'a_publish'=3ms 'b_connect'=3ms"
        ),
        "{}",
        v.perfdata
    );
    assert!(
        v.perfdata
            .contains(" 'a->b_p50'=12ms;;;0 'a->b_p99'=13ms;500;2000;0 'a->b_loss'=0%;0;;0;100"),
        "{}",
        v.perfdata
    );
    for from in ["a", "b", "c"] {
        for to in ["a", "b", "c"] {
            assert!(v.perfdata.contains(&format!(" '{from}->{to}_loss'=0%")));
        }
    }
    // Every label is quoted, so `->` and `.` in it are safe; none holds a quote or `=`.
    for item in v.perfdata.split(' ').skip(1) {
        let (label, _) = item.split_once('=').unwrap();
        assert!(label.starts_with('\'') && label.ends_with('\''), "{item}");
        assert!(!label.trim_matches('\'').contains(['\'', '=']), "{item}");
    }
}

#[test]
fn each_node_delivering_only_its_own_publishes_is_the_adapter_failing() {
    let o = outcome(|from, to, _| (from == to).then_some(1));
    let v = judge(&o, T);
    assert_eq!((v.status, v.status.exit_code()), (Status::Critical, 2));
    assert_eq!(
        v.reasons,
        [
            "adapter failing: each node delivers only its own publishes, no node receives \
          another's (nothing delivered on a->b (0/3), a->c (0/3), b->a (0/3), b->c (0/3), \
          c->a (0/3), c->b (0/3))"
        ]
    );
    assert!(
        v.perfdata.contains(" 'a->b_loss'=100%;0;;0;100"),
        "{}",
        v.perfdata
    );
    assert!(!v.perfdata.contains("'a->b_p50'"), "{}", v.perfdata);
}

#[test]
fn a_pair_that_delivers_nothing_is_critical_and_named() {
    // c receives nothing: not the adapter (a and b receive each other's).
    let o = outcome(|_, to, _| (to != "c").then_some(2));
    let v = judge(&o, T);
    assert_eq!(v.status, Status::Critical);
    assert_eq!(
        v.reasons,
        ["nothing delivered on a->c (0/3), b->c (0/3), c->c (0/3)"]
    );
}

#[test]
fn a_node_that_cannot_connect_is_critical_and_named() {
    let mut o = outcome(|_, _, _| Some(1));
    // Node c refused the connection: no pair is measured with it.
    o.nodes[2].steps = vec![
        step(StepName::Resolve, 0),
        Step {
            name: StepName::Tcp,
            ok: false,
            duration: ms(1),
            detail: "connection refused (127.0.0.1:6003)".into(),
        },
    ];
    o.pairs.retain(|p| p.from != "c" && p.to != "c");
    let v = judge(&o, T);
    assert_eq!((v.status, v.status.exit_code()), (Status::Critical, 2));
    assert_eq!(
        v.reasons,
        ["node c: tcp failed: connection refused (127.0.0.1:6003)"]
    );
    assert!(v.perfdata.contains(" 'c_connect'=1ms "), "{}", v.perfdata);
    assert!(!v.perfdata.contains("'c_subscribe'"), "{}", v.perfdata);
    assert!(!v.perfdata.contains("->c"), "{}", v.perfdata);
}

#[test]
fn an_api_that_does_not_take_the_probes_is_critical() {
    let mut o = outcome(|from, _, _| (from != "b").then_some(1));
    let publish = o.nodes[1].steps.last_mut().unwrap();
    publish.ok = false;
    publish.detail = "the HTTP API did not take probe 1: HTTP 500".into();
    // Nothing was published through b: its pairs have no samples.
    for p in o.pairs.iter_mut().filter(|p| p.from == "b") {
        p.samples.clear();
    }
    let v = judge(&o, T);
    assert_eq!(v.status, Status::Critical);
    assert_eq!(
        v.reasons,
        ["node b: publish failed: the HTTP API did not take probe 1: HTTP 500"]
    );
}

#[test]
fn some_loss_or_a_slow_pair_warns_and_a_slower_one_is_critical() {
    let v = judge(
        &outcome(|from, to, seq| (!(from == "a" && to == "b" && seq == 2)).then_some(1)),
        T,
    );
    assert_eq!((v.status, v.status.exit_code()), (Status::Warning, 1));
    assert_eq!(v.reasons, ["probes lost on a->b (1 of 3)"]);
    assert!(
        v.perfdata.contains(" 'a->b_loss'=33.333%;0;;0;100"),
        "{}",
        v.perfdata
    );

    let v = judge(
        &outcome(|from, to, _| Some(if (from, to) == ("b", "c") { 600 } else { 1 })),
        T,
    );
    assert_eq!(v.status, Status::Warning);
    assert_eq!(
        v.reasons,
        ["latency over --warn-latency 500 ms on b->c (600 ms)"]
    );

    let v = judge(
        &outcome(|from, to, _| {
            Some(match (from, to) {
                ("b", "c") => 600,
                ("c", "a") => 2500,
                _ => 1,
            })
        }),
        T,
    );
    assert_eq!(v.status, Status::Critical);
    assert_eq!(
        v.reasons,
        [
            "latency over --crit-latency 2000 ms on c->a (2500 ms)",
            "latency over --warn-latency 500 ms on b->c (600 ms)"
        ]
    );
}

#[test]
fn many_pairs_are_named_up_to_a_few() {
    let names: Vec<String> = (0..5).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let o = ClusterOutcome {
        nodes: refs.iter().map(|n| node(n)).collect(),
        pairs: pairs(&refs, |_, to, _| (to != "n4" && to != "n3").then_some(1)),
        ..outcome(|_, _, _| None)
    };
    let v = judge(&o, T);
    assert_eq!(
        v.reasons,
        [
            "nothing delivered on n0->n3 (0/3), n0->n4 (0/3), n1->n3 (0/3), n1->n4 (0/3), \
          n2->n3 (0/3), n2->n4 (0/3) and 4 more"
        ]
    );
}

#[test]
fn without_api_credentials_delivery_is_not_checked_and_that_is_ok() {
    let mut o = outcome(|_, _, _| None);
    o.pairs.clear();
    o.delivery = Delivery::NotChecked("no app id and secret for the HTTP API".into());
    o.delivery_step = None;
    for n in &mut o.nodes {
        n.steps.retain(|s| s.name != StepName::Publish);
    }
    let v = judge(&o, T);
    assert_eq!(v.status, Status::Ok);
    assert_eq!(
        v.summary,
        "3 nodes (a, b, c) connected in 3.0 ms at most and subscribed; delivery not checked \
         (no app id and secret for the HTTP API)"
    );
}

#[test]
fn the_time_running_out_in_the_delivery_is_critical() {
    let mut o = outcome(|_, _, _| Some(1));
    o.delivery_step = Some(Step {
        name: StepName::Delivery,
        ok: false,
        duration: ms(10_000),
        detail: "no answer within the --timeout of 10s".into(),
    });
    let v = judge(&o, T);
    assert_eq!(v.status, Status::Critical);
    assert_eq!(
        v.reasons,
        ["delivery failed: no answer within the --timeout of 10s"]
    );
}

#[test]
fn pair_percentiles_are_nearest_rank() {
    let pair = Pair {
        from: "a".into(),
        to: "b".into(),
        samples: (1..=100)
            .map(|seq| PairSample {
                seq,
                latency: Some(ms(u64::from(seq))),
            })
            .collect(),
    };
    let st = PairStats::of(&pair);
    assert_eq!((st.sent, st.received), (100, 100));
    assert_eq!(st.p50, Some(ms(50)));
    // With 100 probes, p99 is not the slowest; with fewer it is.
    assert_eq!(st.p99, Some(ms(99)));
    assert_eq!(st.max, Some(ms(100)));
    assert_eq!(st.loss_percent(), 0.0);
    let mut pair = pair;
    pair.samples.truncate(10);
    pair.samples[3].latency = None;
    let st = PairStats::of(&pair);
    assert_eq!((st.p99, st.max), (Some(ms(10)), Some(ms(10))));
    assert_eq!(st.loss_percent(), 10.0);
}

#[test]
fn the_adapter_failing_comes_before_what_it_causes() {
    // sockudo without its Redis: presence subscriptions unanswered, publishes unanswered,
    // each node delivering only its own.
    let mut o = outcome(|from, to, _| (from == to).then_some(3500));
    for n in &mut o.nodes {
        n.steps.insert(
            5,
            Step {
                name: StepName::SubscribePresence,
                ok: false,
                duration: ms(5000),
                detail: "no answer within 5.0s".into(),
            },
        );
        let publish = n.steps.last_mut().unwrap();
        publish.ok = false;
        publish.detail = "the HTTP API did not answer probe 1 within 4s (and 2 more)".into();
    }
    let v = judge(&o, T);
    assert_eq!(v.status, Status::Critical);
    assert!(
        v.reasons[0].starts_with("adapter failing: "),
        "{:?}",
        v.reasons
    );
    assert_eq!(
        v.reasons[1],
        "node a: subscribe_presence failed: no answer within 5.0s"
    );
    assert_eq!(
        v.reasons[4],
        "node a: publish failed: the HTTP API did not answer probe 1 within 4s (and 2 more)"
    );
    assert_eq!(
        v.reasons[7],
        "latency over --crit-latency 2000 ms on a->a (3500 ms), b->b (3500 ms), c->c (3500 ms)"
    );
    // A node whose presence failed is not counted as subscribed in the perfdata.
    assert!(!v.perfdata.contains("'a_subscribe'"), "{}", v.perfdata);
}
