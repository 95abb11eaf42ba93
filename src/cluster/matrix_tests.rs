use super::*;

fn names(list: &[&str]) -> Vec<NodeName> {
    list.iter().map(|&n| NodeName::from(n)).collect()
}

fn ms_(n: u64) -> Duration {
    Duration::from_millis(n)
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// One round at `t`: every node in `publishers` publishes at `t` (the others' publishes
/// fail with `error`), and each `(from, to, after_ms)` of `deliveries` arrives then.
fn round(
    m: &mut Matrix,
    t: Instant,
    publishers: &[usize],
    error: &str,
    deliveries: &[(usize, usize, u64)],
) -> u64 {
    let r = m.begin_round(t);
    for from in 0..m.nodes().len() {
        m.published(r, from, t);
        if publishers.contains(&from) {
            m.publish_answered(from);
        } else {
            m.publish_failed(r, from, error);
        }
    }
    for &(from, to, after) in deliveries {
        m.received(r, from, to, t + ms_(after));
    }
    r
}

fn all_pairs(n: usize, after: u64) -> Vec<(usize, usize, u64)> {
    (0..n)
        .flat_map(|f| (0..n).map(move |t| (f, t, after)))
        .collect()
}

#[test]
fn probe_data_round_trips_borrowed() {
    let data = probe_data(42, "node-a");
    assert_eq!(data, r#"{"round":42,"from":"node-a"}"#);
    assert_eq!(parse_probe(&data), Some((42, "node-a")));
    // Whitespace, field order and extra fields do not matter.
    assert_eq!(
        parse_probe(r#" { "from" : "b", "x": [1], "round" : 7 } "#),
        Some((7, "b"))
    );
    // A name that needed escaping cannot be borrowed: not a probe, rather than a copy.
    assert_eq!(parse_probe(&probe_data(1, "a\"b")), None);
    assert_eq!(parse_probe("{}"), None);
    assert_eq!(parse_probe(r#"{"round":-1,"from":"a"}"#), None);
    assert_eq!(parse_probe("hello"), None);
}

#[test]
fn full_matrix_delivered() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 10, TIMEOUT);
    for i in 0..5 {
        round(
            &mut m,
            t0 + ms_(1000 * i),
            &[0, 1, 2],
            "",
            &all_pairs(3, 20),
        );
    }
    m.tick(t0 + ms_(20_000));
    for from in 0..3 {
        for to in 0..3 {
            let c = m.cell(from, to);
            assert_eq!(
                (c.sent, c.received, c.loss),
                (5, 5, Some(0.0)),
                "{from}→{to}"
            );
            assert_eq!(c.p50_ms, Some(20.0));
        }
    }
    assert_eq!(m.diagnosis(), None);
    let report = m.report();
    assert_eq!(report.rounds, 5);
    assert_eq!(report.cells.len(), 9);
    let order: Vec<(&str, &str)> = report
        .cells
        .iter()
        .map(|c| (c.from.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("a", "a"),
            ("a", "b"),
            ("a", "c"),
            ("b", "a"),
            ("b", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "b"),
            ("c", "c")
        ]
    );
    assert!(report.api_errors.is_empty());
    assert_eq!(report.diagnosis, None);
}

#[test]
fn nothing_known_before_the_timeout_or_a_receipt() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 10, TIMEOUT);
    let r = m.begin_round(t0);
    m.published(r, 0, t0);
    m.received(r, 0, 0, t0 + ms_(3));
    m.tick(t0 + ms_(4_999));
    assert_eq!(m.cell(0, 0).sent, 1);
    let awaited = m.cell(0, 1);
    assert_eq!(
        (awaited.sent, awaited.loss, awaited.p50_ms),
        (0, None, None)
    );
    // A node that never published has nothing in its row, however long.
    m.tick(t0 + ms_(60_000));
    assert_eq!(m.cell(1, 0).loss, None);
    assert_eq!(m.cell(0, 1).loss, Some(1.0));
}

#[test]
fn timeout_makes_a_probe_lost_and_a_late_one_stays_lost() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 10, TIMEOUT);
    let r = m.begin_round(t0);
    m.published(r, 0, t0 + ms_(100));
    m.received(r, 0, 0, t0 + ms_(110));
    // Timed from the publish's start, not the round's.
    m.tick(t0 + ms_(5_050));
    assert_eq!(m.cell(0, 1).sent, 0);
    m.tick(t0 + ms_(5_100));
    let c = m.cell(0, 1);
    assert_eq!((c.sent, c.received, c.loss), (1, 0, Some(1.0)));
    m.received(r, 0, 1, t0 + ms_(6_000));
    assert_eq!(m.cell(0, 1).received, 0);
    assert_eq!(m.cell(0, 0).p50_ms, Some(10.0));
}

#[test]
fn publish_failure_is_not_counted_as_sent_and_its_error_is_kept() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 10, TIMEOUT);
    let r = m.begin_round(t0);
    m.published(r, 0, t0);
    m.published(r, 1, t0);
    // sockudo delivers locally even when its API then times out: still not counted.
    m.received(r, 1, 1, t0 + ms_(5));
    m.received(r, 0, 0, t0 + ms_(5));
    m.received(r, 0, 1, t0 + ms_(5));
    m.publish_failed(r, 1, "timed out after 5 s");
    m.publish_answered(0);
    m.tick(t0 + ms_(10_000));
    assert_eq!(m.cell(1, 1).sent, 0);
    assert_eq!(m.cell(1, 0).loss, None);
    assert_eq!(m.cell(0, 1).loss, Some(0.0));
    assert_eq!(m.api_error(1), Some("timed out after 5 s"));
    let report = m.report();
    assert_eq!(
        report.api_errors.get("b").map(String::as_str),
        Some("timed out after 5 s")
    );
    assert!(
        report
            .diagnosis
            .unwrap()
            .contains("node b's HTTP API is not answering: timed out after 5 s")
    );
    // The latest error is the one kept; an answer clears it.
    let r = m.begin_round(t0 + ms_(1000));
    m.publish_failed(r, 1, "HTTP 503");
    assert_eq!(m.api_error(1), Some("HTTP 503"));
    m.publish_answered(1);
    assert_eq!(m.api_error(1), None);
    // A long error is cut at a character boundary.
    m.publish_failed(r, 1, &"é".repeat(400));
    assert!(m.api_error(1).unwrap().len() <= MAX_ERROR_LEN);
}

#[test]
fn duplicates_and_unknown_rounds_and_nodes_are_ignored() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 3, TIMEOUT);
    let r = m.begin_round(t0);
    m.published(r, 0, t0);
    m.received(r, 0, 1, t0 + ms_(10));
    m.received(r, 0, 1, t0 + ms_(90));
    m.received(r + 1, 0, 1, t0 + ms_(10));
    m.received(0, 0, 1, t0 + ms_(10));
    m.received(r, 2, 1, t0 + ms_(10));
    m.received(r, 0, 2, t0 + ms_(10));
    m.received(r, 9, 9, t0 + ms_(10));
    // A second `published` does not move the start.
    m.published(r, 0, t0 + ms_(50));
    let c = m.cell(0, 1);
    assert_eq!((c.sent, c.received, c.p50_ms), (1, 1, Some(10.0)));
    assert_eq!(m.cell(9, 0).sent, 0);
}

#[test]
fn window_forgets_old_rounds() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 3, TIMEOUT);
    // Round 1 loses everything to b; rounds 2..=4 deliver everything.
    let r1 = round(&mut m, t0, &[0, 1], "", &[(0, 0, 5), (1, 1, 5)]);
    m.tick(t0 + ms_(6_000));
    assert_eq!(m.cell(0, 1).loss, Some(1.0));
    for i in 1..=3 {
        round(&mut m, t0 + ms_(6_000 * i), &[0, 1], "", &all_pairs(2, 5));
    }
    assert_eq!(m.rounds(), 3);
    let c = m.cell(0, 1);
    assert_eq!((c.sent, c.received, c.loss), (3, 3, Some(0.0)));
    // A late receipt of the forgotten round does not land in its old slot.
    m.received(r1, 0, 1, t0 + ms_(30_000));
    assert_eq!(m.cell(0, 1).sent, 3);
    assert_eq!(m.report().rounds, 3);
}

#[test]
fn percentiles_over_received_probes() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 100, TIMEOUT);
    for i in 1..=100u64 {
        let t = t0 + ms_(10_000 * i);
        let r = m.begin_round(t);
        m.published(r, 0, t);
        m.received(r, 0, 1, t + ms_(i));
    }
    let c = m.cell(0, 1);
    assert_eq!(c.received, 100);
    assert_eq!(c.p50_ms, Some(50.0));
    assert_eq!(c.p99_ms, Some(99.0));
    // Sub-millisecond latencies are kept.
    let mut m = Matrix::new(&names(&["a"]), 4, TIMEOUT);
    let r = m.begin_round(t0);
    m.published(r, 0, t0);
    m.received(r, 0, 0, t0 + Duration::from_micros(250));
    assert_eq!(m.cell(0, 0).p50_ms, Some(0.25));
}

#[test]
fn killed_node_loses_its_column_and_cannot_publish() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 30, TIMEOUT);
    round(&mut m, t0, &[0, 1, 2], "", &all_pairs(3, 10));
    // c is killed: publishes through it are refused, nothing reaches its socket.
    let alive: Vec<_> = all_pairs(2, 10);
    for i in 1..=5 {
        round(
            &mut m,
            t0 + ms_(1_000 * i),
            &[0, 1],
            "connection refused",
            &alive,
        );
    }
    m.tick(t0 + ms_(20_000));
    for from in 0..2 {
        let c = m.cell(from, 2);
        assert_eq!((c.sent, c.received), (6, 1), "{from}→c");
        assert_eq!(m.cell(from, 0).loss, Some(0.0));
    }
    // Only the round before the kill counts in c's row.
    assert_eq!(m.cell(2, 0).sent, 1);
    assert_eq!(m.cell(2, 0).loss, Some(0.0));

    // Once the window holds only rounds after the kill, c's column is lost outright.
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 30, TIMEOUT);
    for i in 0..5 {
        round(
            &mut m,
            t0 + ms_(1_000 * i),
            &[0, 1],
            "connection refused",
            &alive,
        );
    }
    m.tick(t0 + ms_(20_000));
    assert_eq!(m.cell(0, 2).loss, Some(1.0));
    assert_eq!(m.cell(2, 2).loss, None);
    let words = m.diagnosis().unwrap();
    assert!(
        words.starts_with(
            "node c looks down: it receives nothing and its HTTP API is not answering: \
             connection refused"
        ),
        "{words}"
    );
    assert!(!words.contains("adapter"), "{words}");
    assert_eq!(
        m.report().api_errors.get("c").map(String::as_str),
        Some("connection refused")
    );
}

#[test]
fn adapter_failing_only_the_diagonal_delivers() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 30, TIMEOUT);
    let own: Vec<_> = (0..3).map(|i| (i, i, 2)).collect();
    for i in 0..5 {
        round(&mut m, t0 + ms_(1_000 * i), &[0, 1, 2], "", &own);
    }
    m.tick(t0 + ms_(20_000));
    for from in 0..3 {
        for to in 0..3 {
            let expected = if from == to { 0.0 } else { 1.0 };
            assert_eq!(m.cell(from, to).loss, Some(expected), "{from}→{to}");
        }
    }
    let words = m.diagnosis().unwrap();
    assert!(words.starts_with("adapter failing"), "{words}");
    // Each node receives its own: none is said to receive nothing.
    assert!(!words.contains("receives nothing"), "{words}");
    assert_eq!(m.report().diagnosis, Some(words));
}

#[test]
fn adapter_failing_with_an_api_error_says_both_adapter_first() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 30, TIMEOUT);
    round(&mut m, t0, &[0, 1], "", &[(0, 0, 2), (1, 1, 2)]);
    let r = m.begin_round(t0 + ms_(1000));
    m.published(r, 0, t0 + ms_(1000));
    m.publish_failed(r, 0, "timed out");
    m.tick(t0 + ms_(20_000));
    let words = m.diagnosis().unwrap();
    let adapter = words.find("adapter failing").unwrap();
    let api = words
        .find("node a's HTTP API is not answering: timed out")
        .unwrap();
    assert!(adapter < api, "{words}");
}

#[test]
fn one_node_deaf_while_others_receive() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 30, TIMEOUT);
    let to_a_and_b: Vec<_> = all_pairs(3, 5).into_iter().filter(|p| p.1 != 2).collect();
    for i in 0..3 {
        round(&mut m, t0 + ms_(1_000 * i), &[0, 1, 2], "", &to_a_and_b);
    }
    m.tick(t0 + ms_(20_000));
    let words = m.diagnosis().unwrap();
    assert_eq!(
        words,
        "node c receives nothing (its socket is down or it is off the bus)"
    );
}

#[test]
fn nobody_receives_anything() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 30, TIMEOUT);
    round(&mut m, t0, &[0, 1], "", &[]);
    m.tick(t0 + ms_(20_000));
    let words = m.diagnosis().unwrap();
    assert!(words.starts_with("no node receives any probe"), "{words}");
    assert!(!words.contains("adapter"), "{words}");
}

#[test]
fn a_publisher_whose_publishes_reach_nobody() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 30, TIMEOUT);
    round(&mut m, t0, &[0, 1], "", &[(0, 0, 2), (0, 1, 2)]);
    m.tick(t0 + ms_(20_000));
    let words = m.diagnosis().unwrap();
    assert_eq!(
        words,
        "publishes through node b reach no node (its API accepts them but nothing is \
         delivered)"
    );
}

#[test]
fn intermittent_loss_is_named() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b"]), 30, TIMEOUT);
    for i in 0..5 {
        let deliveries: Vec<_> = all_pairs(2, 5)
            .into_iter()
            .filter(|&(f, t, _)| !(i == 0 && f == 0 && t == 1))
            .collect();
        round(&mut m, t0 + ms_(1_000 * i), &[0, 1], "", &deliveries);
    }
    m.tick(t0 + ms_(20_000));
    assert_eq!(m.diagnosis().as_deref(), Some("probes lost: a→b 20%"));
}

#[test]
fn single_node_is_never_an_adapter_failure() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a"]), 30, TIMEOUT);
    round(&mut m, t0, &[0], "", &[(0, 0, 1)]);
    m.tick(t0 + ms_(20_000));
    assert_eq!(m.diagnosis(), None);
    let empty = Matrix::new(&[], 30, TIMEOUT);
    assert_eq!(empty.diagnosis(), None);
    assert_eq!(empty.report().cells, vec![]);
}

#[test]
fn memory_is_sized_once() {
    let t0 = Instant::now();
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 7, TIMEOUT);
    let (publishes, fates) = (m.publishes.capacity(), m.fates.capacity());
    assert_eq!(m.fates.len(), 3 * 3 * 7);
    for i in 0..1_000 {
        round(
            &mut m,
            t0 + ms_(1_000 * i),
            &[0, 1, 2],
            "",
            &all_pairs(3, 1),
        );
        m.tick(t0 + ms_(1_000 * i + 500));
    }
    assert_eq!(
        (m.publishes.capacity(), m.fates.capacity()),
        (publishes, fates)
    );
    assert_eq!(m.cell(1, 2).sent, 7);
}

#[test]
fn a_receiver_whose_socket_is_down_loses_at_once_not_after_the_timeout() {
    let mut m = Matrix::new(&names(&["a", "b"]), 10, TIMEOUT);
    let t0 = Instant::now();
    round(&mut m, t0, &[0, 1], "", &all_pairs(2, 2));
    m.tick(t0 + ms_(10));
    assert_eq!(m.cell(0, 1).received, 1);
    // b's socket goes; the next round's probes to b are lost at the next tick.
    m.set_receiving(1, false);
    let t1 = t0 + Duration::from_secs(1);
    round(&mut m, t1, &[0, 1], "", &[(0, 0, 2), (1, 0, 2)]);
    m.tick(t1 + ms_(10));
    let to_b = m.cell(0, 1);
    assert_eq!((to_b.sent, to_b.received), (2, 1), "{to_b:?}");
    assert_eq!(m.cell(0, 0).sent, 2, "a still receives");
    // Back: probes to b are awaited again until received or timed out.
    m.set_receiving(1, true);
    let t2 = t1 + Duration::from_secs(1);
    round(&mut m, t2, &[0, 1], "", &[]);
    m.tick(t2 + ms_(10));
    assert_eq!(m.cell(0, 1).sent, 2, "the new round is still awaited");
    m.received(3, 0, 1, t2 + ms_(20));
    m.tick(t2 + ms_(30));
    assert_eq!(m.cell(0, 1).received, 2);
}

#[test]
fn the_diagnosis_reads_the_latest_probes_so_a_fault_is_named_within_a_few_rounds() {
    let mut m = Matrix::new(&names(&["a", "b"]), 30, TIMEOUT);
    let mut t = Instant::now();
    for _ in 0..20 {
        round(&mut m, t, &[0, 1], "", &all_pairs(2, 2));
        t += Duration::from_secs(1);
    }
    m.tick(t);
    assert_eq!(m.diagnosis(), None);
    // The bus goes: each node now receives only its own publishes.
    for i in 0..DIAGNOSIS_ROUNDS {
        round(&mut m, t, &[0, 1], "", &[(0, 0, 2), (1, 1, 2)]);
        t += TIMEOUT + Duration::from_secs(1);
        m.tick(t);
        let said = m.diagnosis().unwrap_or_default();
        assert_eq!(
            said.contains("adapter failing"),
            i + 1 == DIAGNOSIS_ROUNDS,
            "after {} rounds: {said}",
            i + 1
        );
    }
    // The window still holds the good rounds: the cells show partial loss, not all.
    assert!(m.cell(0, 1).received >= 20);
}

#[test]
fn adapter_failing_needs_own_delivery_and_no_cross_delivery() {
    // (sent, received), publisher by receiver.
    let failing = [(3, 3), (3, 0), (3, 0), (3, 3)];
    assert!(adapter_failing(2, &failing));
    // A cross cell that received something: not the adapter.
    assert!(!adapter_failing(2, &[(3, 3), (3, 1), (3, 0), (3, 3)]));
    // A node that does not deliver its own publishes: not (only) the adapter.
    assert!(!adapter_failing(2, &[(3, 3), (3, 0), (3, 0), (3, 0)]));
    // A publisher that sent nothing says nothing.
    assert!(adapter_failing(2, &[(3, 3), (3, 0), (0, 0), (0, 0)]));
    // Nothing sent at all, one node, a wrong size.
    assert!(!adapter_failing(2, &[(0, 0); 4]));
    assert!(!adapter_failing(1, &[(3, 3)]));
    assert!(!adapter_failing(2, &failing[..3]));
}

/// What a real cluster showed: node c killed, so its API refuses every publish and its
/// socket receives nothing. Its own old probes (from before it went) must not hide that
/// its column is lost: the diagnosis names c as down within a few rounds.
#[test]
fn a_killed_node_is_named_down_although_its_old_publishes_had_delivered() {
    let mut m = Matrix::new(&names(&["a", "b", "c"]), 30, TIMEOUT);
    let mut t = Instant::now();
    for _ in 0..10 {
        round(&mut m, t, &[0, 1, 2], "", &all_pairs(3, 2));
        t += Duration::from_secs(1);
    }
    m.tick(t);
    assert_eq!(m.diagnosis(), None);
    m.set_receiving(2, false);
    let refused = "connection refused";
    let mut said = String::new();
    for _ in 0..DIAGNOSIS_ROUNDS {
        round(
            &mut m,
            t,
            &[0, 1],
            refused,
            &[(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2)],
        );
        t += Duration::from_secs(1);
        m.tick(t);
        said = m.diagnosis().unwrap_or_default();
    }
    assert!(said.starts_with("node c looks down"), "{said}");
    assert!(!said.contains("probes lost: c"), "{said}");
}
