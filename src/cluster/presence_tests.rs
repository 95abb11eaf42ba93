use super::*;
use serde_json::json;

const ROOM: &str = "presence-room";
const GHOST_AFTER: Duration = Duration::from_secs(5);

fn names(list: &[&str]) -> Vec<NodeName> {
    list.iter().map(|&n| NodeName::from(n)).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn member(id: &str) -> Member {
    Member {
        id: id.into(),
        info: json!({}),
    }
}

fn members(me: &str, ids: &[&str]) -> Record {
    Record::Members {
        channel: ROOM.into(),
        me: Some(member(me)),
        count: ids.len(),
        members: ids.iter().map(|id| member(id)).collect(),
    }
}

fn added(id: &str) -> Record {
    Record::MemberAdded {
        channel: ROOM.into(),
        id: id.into(),
        info: json!({}),
    }
}

fn removed(id: &str) -> Record {
    Record::MemberRemoved {
        channel: ROOM.into(),
        id: id.into(),
    }
}

fn state(previous: State, current: State) -> Record {
    Record::State {
        previous,
        current,
        socket_id: None,
        cause: None,
    }
}

/// Virtual time: an `Instant` and the wall time that goes with it, moved together.
struct Clock {
    t0: Instant,
    w0: SystemTime,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            t0: Instant::now(),
            w0: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }
    fn at(&self, after_ms: u64) -> (Instant, SystemTime) {
        (self.t0 + ms(after_ms), self.w0 + ms(after_ms))
    }
}

/// Three nodes a, b, c, each with its own watcher user (u-a, u-b, u-c), all in the room and
/// in sync at t = 0.
fn three_in_sync(clock: &Clock) -> Rosters {
    let mut r = Rosters::new(&names(&["a", "b", "c"]), GHOST_AFTER);
    let (t, w) = clock.at(0);
    let all = ["u-a", "u-b", "u-c"];
    for (i, me) in all.iter().enumerate() {
        r.on_record(i, &state(State::Connecting, State::Connected), t, w);
        r.on_record(i, &members(me, &all), t, w);
    }
    assert_eq!(r.report(t), vec![]);
    assert_eq!(r.take_resolved(), vec![]);
    r
}

fn feed(r: &mut Rosters, clock: &Clock, after_ms: u64, node: usize, record: Record) {
    let (t, w) = clock.at(after_ms);
    r.on_record(node, &record, t, w);
}

#[test]
fn kill_9_leaves_a_ghost_timed_from_when_the_node_went() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    // kill -9 of c at 10 s: c's socket closes; a and b never get `member_removed`.
    feed(
        &mut r,
        &clock,
        10_000,
        2,
        state(State::Connected, State::Connecting),
    );
    assert!(!r.is_connected(2));
    assert_eq!(r.roster(ROOM, 2), None);
    assert_eq!(r.me(ROOM, 2), Some("u-c"));

    let (t, _) = clock.at(14_000);
    let report = r.report(t);
    assert_eq!(report.len(), 1, "{report:?}");
    let d = &report[0];
    assert_eq!(d.kind, DivergenceKind::Members);
    assert_eq!(d.channel, ROOM);
    assert_eq!(d.member.as_deref(), Some("u-c"));
    assert_eq!(d.listed_on, ["a", "b"]);
    assert_eq!(d.missing_on, ["c"]);
    assert_eq!(d.since, clock.at(10_000).1);
    assert_eq!(d.for_ms, 4_000);
    assert!(!d.ghost, "within the servers' debounce");
    assert!(!d.resolved);
    let s = r.member_state(ROOM, "u-c", t).unwrap();
    assert!(s.candidate && !s.ghost);

    // Past the threshold, and for as long as it lasts (28 s in the real run).
    let (t, _) = clock.at(15_001);
    assert!(r.report(t)[0].ghost);
    let (t, _) = clock.at(38_000);
    let d = &r.report(t)[0];
    assert!(d.ghost);
    assert_eq!(d.for_ms, 28_000);
    assert!(r.member_state(ROOM, "u-c", t).unwrap().ghost);
    // Nothing resolved in the meantime.
    assert_eq!(r.take_resolved(), vec![]);

    // c comes back: its new roster lists its own user again, and the difference ends,
    // once, still flagged as the ghost it was.
    feed(
        &mut r,
        &clock,
        40_000,
        2,
        state(State::Connecting, State::Connected),
    );
    feed(
        &mut r,
        &clock,
        40_100,
        2,
        members("u-c", &["u-a", "u-b", "u-c"]),
    );
    let (t, _) = clock.at(40_100);
    assert_eq!(r.report(t), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0].resolved && resolved[0].ghost);
    assert_eq!(resolved[0].for_ms, 30_100);
    assert_eq!(r.take_resolved(), vec![]);
}

#[test]
fn kill_9_of_one_of_two_nodes() {
    // The two-node run: node a's socket roster still held node b's user.
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    feed(&mut r, &clock, 0, 0, members("u-a", &["u-a", "u-b"]));
    feed(&mut r, &clock, 0, 1, members("u-b", &["u-a", "u-b"]));
    feed(
        &mut r,
        &clock,
        1_000,
        1,
        state(State::Connected, State::Unavailable),
    );
    let (t, _) = clock.at(7_000);
    let report = r.report(t);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].member.as_deref(), Some("u-b"));
    assert_eq!(
        (
            report[0].listed_on.as_slice(),
            report[0].missing_on.as_slice()
        ),
        (&["a".to_string()][..], &["b".to_string()][..])
    );
    assert!(report[0].ghost);
}

#[test]
fn a_member_that_left_b_but_stays_on_a_is_a_ghost_after_the_threshold() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    feed(&mut r, &clock, 0, 0, members("u-a", &["u-a", "u-b", "x"]));
    feed(&mut r, &clock, 0, 1, members("u-b", &["u-a", "u-b", "x"]));
    // x leaves: b says so at 2 s, a never does.
    feed(&mut r, &clock, 2_000, 1, removed("x"));
    let (t, _) = clock.at(2_000);
    let d = &r.report(t)[0];
    assert_eq!(d.member.as_deref(), Some("x"));
    assert_eq!(
        (d.listed_on.clone(), d.missing_on.clone()),
        (vec!["a".to_string()], vec!["b".to_string()])
    );
    assert_eq!(d.for_ms, 0);
    assert!(!d.ghost);
    // Not before the threshold...
    let (t, _) = clock.at(7_000);
    assert!(!r.report(t)[0].ghost);
    assert!(r.member_state(ROOM, "x", t).unwrap().candidate);
    // ...and after it.
    let (t, _) = clock.at(7_001);
    assert!(r.report(t)[0].ghost);
    // a catches up late: resolved once, a ghost while it lasted.
    feed(&mut r, &clock, 9_000, 0, removed("x"));
    let (t, _) = clock.at(9_000);
    assert_eq!(r.report(t), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0].ghost && resolved[0].resolved);
    assert_eq!(resolved[0].for_ms, 7_000);
    assert_eq!(r.roster(ROOM, 0).unwrap().len(), 2);
}

#[test]
fn a_join_that_reaches_a_before_b_resolves_and_is_never_a_ghost() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(&mut r, &clock, 1_000, 0, added("y"));
    let (t, _) = clock.at(1_000);
    let d = &r.report(t)[0];
    assert_eq!(d.member.as_deref(), Some("y"));
    assert_eq!(d.listed_on, ["a"]);
    assert_eq!(d.missing_on, ["b", "c"]);
    assert!(!r.member_state(ROOM, "y", t).unwrap().candidate);
    feed(&mut r, &clock, 1_030, 1, added("y"));
    let (t, _) = clock.at(1_030);
    assert_eq!(r.report(t)[0].missing_on, ["c"]);
    // However long c lags, a late join is not a ghost: there is no evidence against it.
    let (t, _) = clock.at(60_000);
    assert!(!r.report(t)[0].ghost);
    feed(&mut r, &clock, 60_000, 2, added("y"));
    assert_eq!(r.report(t), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(!resolved[0].ghost && resolved[0].resolved);
    assert_eq!(resolved[0].for_ms, 59_000);
    assert_eq!(resolved[0].since, clock.at(1_000).1);
}

#[test]
fn a_leave_seen_by_nodes_a_moment_apart_is_not_a_ghost() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(&mut r, &clock, 0, 0, added("z"));
    feed(&mut r, &clock, 0, 1, added("z"));
    feed(&mut r, &clock, 0, 2, added("z"));
    assert_eq!(r.take_resolved().len(), 1);
    feed(&mut r, &clock, 5_000, 1, removed("z"));
    feed(&mut r, &clock, 5_040, 0, removed("z"));
    let (t, _) = clock.at(5_040);
    assert!(r.member_state(ROOM, "z", t).unwrap().candidate);
    feed(&mut r, &clock, 5_080, 2, removed("z"));
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(!resolved[0].ghost);
    assert_eq!(resolved[0].for_ms, 80);
    // z joins again later, reaching a first: the old removals are no evidence.
    feed(&mut r, &clock, 20_000, 0, added("z"));
    let (t, _) = clock.at(30_000);
    assert!(!r.member_state(ROOM, "z", t).unwrap().candidate);
    assert!(!r.report(t)[0].ghost);
}

#[test]
fn a_reconnect_within_the_debounce_is_a_short_difference_not_a_ghost() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(
        &mut r,
        &clock,
        1_000,
        0,
        state(State::Connected, State::Connecting),
    );
    feed(
        &mut r,
        &clock,
        1_900,
        0,
        state(State::Connecting, State::Connected),
    );
    let (t, _) = clock.at(1_900);
    assert_eq!(r.report(t)[0].missing_on, ["a"]);
    feed(
        &mut r,
        &clock,
        2_000,
        0,
        members("u-a", &["u-a", "u-b", "u-c"]),
    );
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].member.as_deref(), Some("u-a"));
    assert!(!resolved[0].ghost);
    assert_eq!(resolved[0].for_ms, 1_000);
}

#[test]
fn a_departed_member_that_the_others_drop_ends_the_difference() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(
        &mut r,
        &clock,
        1_000,
        2,
        Record::Unsubscribed {
            channel: ROOM.into(),
        },
    );
    let (t, _) = clock.at(1_000);
    assert_eq!(r.report(t)[0].missing_on, ["c"]);
    feed(&mut r, &clock, 4_000, 0, removed("u-c"));
    feed(&mut r, &clock, 4_010, 1, removed("u-c"));
    let (t, _) = clock.at(4_010);
    assert_eq!(r.report(t), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(!resolved[0].ghost);
    // Gone for good: c's member is forgotten.
    assert_eq!(r.me(ROOM, 2), None);
}

#[test]
fn a_channel_no_node_has_is_forgotten() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    for node in 0..3 {
        feed(
            &mut r,
            &clock,
            1_000,
            node,
            Record::SubscriptionError {
                channel: ROOM.into(),
                status: Some(403),
                message: "no".into(),
            },
        );
    }
    assert_eq!(r.channels().count(), 0);
    let (t, _) = clock.at(1_000);
    assert_eq!(r.report(t), vec![]);
    // Whatever differed while nodes left is over.
    assert!(r.take_resolved().iter().all(|d| d.resolved));
}

#[test]
fn rosters_for_the_dashboard() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(&mut r, &clock, 0, 0, added("late"));
    assert_eq!(r.channels().collect::<Vec<_>>(), [ROOM]);
    let a: Vec<&str> = r
        .roster(ROOM, 0)
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(a, ["u-a", "u-b", "u-c", "late"]);
    assert_eq!(r.roster(ROOM, 1).unwrap().len(), 3);
    assert_eq!(r.roster("presence-other", 0), None);
    assert_eq!(r.roster(ROOM, 9), None);
    assert_eq!(r.me(ROOM, 1), Some("u-b"));
    let (t, _) = clock.at(2_500);
    let s = r.member_state(ROOM, "late", t).unwrap();
    assert_eq!(s.age, ms(2_500));
    assert_eq!(r.member_state(ROOM, "u-a", t), None);
    // Records of other kinds, other channels and unknown nodes change nothing.
    feed(&mut r, &clock, 0, 7, added("x"));
    feed(
        &mut r,
        &clock,
        0,
        0,
        Record::MemberAdded {
            channel: "presence-unknown".into(),
            id: "x".into(),
            info: json!({}),
        },
    );
    feed(&mut r, &clock, 0, 0, Record::PingSent { after_ms: 1 });
    assert_eq!(r.report(t).len(), 1);
}

#[test]
fn caps_count_what_was_dropped() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    let (t, w) = clock.at(0);
    for i in 0..MAX_CHANNELS + 3 {
        let record = Record::Members {
            channel: format!("presence-{i}"),
            me: None,
            count: 0,
            members: vec![],
        };
        r.on_record(0, &record, t, w);
    }
    assert_eq!(r.channels().count(), MAX_CHANNELS);
    assert_eq!(r.dropped().channels, 3);

    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    let ids: Vec<String> = (0..MAX_MEMBERS + 5).map(|i| format!("m{i}")).collect();
    let record = Record::Members {
        channel: ROOM.into(),
        me: None,
        count: ids.len(),
        members: ids.iter().map(|id| member(id)).collect(),
    };
    r.on_record(0, &record, t, w);
    r.on_record(0, &added("one-more"), t, w);
    assert_eq!(r.roster(ROOM, 0).unwrap().len(), MAX_MEMBERS);
    assert_eq!(r.dropped().members, 6);
    // b subscribes with nobody: every member of a differs, up to the cap.
    r.on_record(1, &members("u-b", &["u-b"]), t, w);
    assert_eq!(r.report(t).len(), MAX_DIVERGENCES);
    assert!(r.dropped().divergences > 0);
}

fn count<'a>(name: &'a str, subscriptions: Option<u64>, users: Option<u64>) -> ChannelCount<'a> {
    ChannelCount {
        name,
        subscription_count: subscriptions,
        user_count: users,
    }
}

#[test]
fn count_divergence_and_resolution() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b", "c"]), GHOST_AFTER);
    let (t, w) = clock.at(0);
    let same = [count(ROOM, Some(3), Some(3)), count("news", Some(5), None)];
    for node in 0..3 {
        r.on_counts(node, Some(&same), t, w);
    }
    assert_eq!(r.report(t), vec![]);

    // c's API still counts the dead node's user (sockudo #205-style drift).
    let (t, w) = clock.at(5_000);
    let drift = [count(ROOM, Some(4), Some(4)), count("news", Some(5), None)];
    r.on_counts(2, Some(&drift), t, w);
    let report = r.report(t);
    assert_eq!(report.len(), 2, "{report:?}");
    let kinds: Vec<DivergenceKind> = report.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [DivergenceKind::SubscriptionCount, DivergenceKind::UserCount]
    );
    for d in &report {
        assert_eq!(d.channel, ROOM);
        assert!(!d.ghost && d.member.is_none());
        assert_eq!(d.since, w);
        let counts: Vec<(&str, u64)> = d.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(counts, [("a", 3), ("b", 3), ("c", 4)]);
    }

    // Still different at the next poll: the same difference, older.
    let (t, w) = clock.at(10_000);
    r.on_counts(2, Some(&drift), t, w);
    assert_eq!(r.report(t)[0].for_ms, 5_000);
    assert_eq!(r.report(t)[0].since, clock.at(5_000).1);

    // Agreed again: each difference ends once.
    let (t, w) = clock.at(15_000);
    r.on_counts(2, Some(&same), t, w);
    assert_eq!(r.report(t), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 2);
    assert!(resolved.iter().all(|d| d.resolved && d.for_ms == 10_000));
    assert_eq!(r.take_resolved(), vec![]);
}

#[test]
fn a_channel_a_node_does_not_list_counts_zero_there() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    let (t, w) = clock.at(0);
    r.on_counts(0, Some(&[count("news", Some(2), None)]), t, w);
    r.on_counts(1, Some(&[]), t, w);
    let report = r.report(t);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].kind, DivergenceKind::SubscriptionCount);
    let counts: Vec<(&str, u64)> = report[0]
        .counts
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(counts, [("a", 2), ("b", 0)]);
    // A count a node's answer lacks (Pusher has no subscription_count in listings) is not
    // compared: the node is left out of that count only.
    let (t, w) = clock.at(1_000);
    r.on_counts(0, Some(&[count("news", None, None)]), t, w);
    assert_eq!(r.report(t), vec![]);
    assert_eq!(r.take_resolved().len(), 1);
}

#[test]
fn a_node_whose_api_is_down_is_left_out() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b", "c"]), GHOST_AFTER);
    let (t, w) = clock.at(0);
    let three = [count(ROOM, Some(3), Some(3))];
    r.on_counts(0, Some(&three), t, w);
    r.on_counts(1, Some(&three), t, w);
    // c never answered: not compared, nothing differs.
    assert_eq!(r.report(t), vec![]);
    r.on_counts(2, Some(&[count(ROOM, Some(1), Some(1))]), t, w);
    assert_eq!(r.report(t).len(), 2);
    // c's API goes down: its old answer no longer counts, the difference is over.
    let (t, w) = clock.at(5_000);
    r.on_counts(2, None, t, w);
    assert_eq!(r.report(t), vec![]);
    assert_eq!(r.take_resolved().len(), 2);
    // With one answer left there is nothing to compare.
    r.on_counts(1, None, t, w);
    r.on_counts(0, Some(&[count(ROOM, Some(9), Some(9))]), t, w);
    assert_eq!(r.report(t), vec![]);
}

#[test]
fn divergence_records_serialise_as_the_record_shapes_say() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    feed(&mut r, &clock, 1_000, 1, removed("u-c"));
    let (t, _) = clock.at(7_500);
    let line = serde_json::to_value(&r.report(t)[0]).unwrap();
    assert_eq!(
        line,
        json!({
            "channel": ROOM,
            "kind": "members",
            "member": "u-c",
            "listed_on": ["a", "c"],
            "missing_on": ["b"],
            "since": "2023-11-14T22:13:21.000Z",
            "for_ms": 6500,
            "ghost": true,
        })
    );
}

// ----- a node's socket roster against its own HTTP API's user list -----

fn users(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn answer(r: &mut Rosters, clock: &Clock, after_ms: u64, node: usize, ids: Option<&[&str]>) {
    let (t, w) = clock.at(after_ms);
    let ids = ids.map(users);
    r.on_api_members(node, ROOM, ids.as_deref(), t, w);
}

fn api_report(r: &Rosters, after_ms: u64, clock: &Clock) -> Vec<Divergence> {
    let (t, _) = clock.at(after_ms);
    let report = r.report(t);
    report
        .into_iter()
        .filter(|d| d.kind == DivergenceKind::ApiMembers)
        .collect()
}

/// Two nodes, each with its own watcher (u-a, u-b), and `guest` connected through b; every
/// socket and every API agreeing at t = 0.
fn two_with_a_guest(clock: &Clock) -> Rosters {
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    let all = ["u-a", "u-b", "guest"];
    for (i, me) in ["u-a", "u-b"].iter().enumerate() {
        feed(
            &mut r,
            clock,
            0,
            i,
            state(State::Connecting, State::Connected),
        );
        feed(&mut r, clock, 0, i, members(me, &all));
        answer(&mut r, clock, 0, i, Some(&all));
    }
    let (t, _) = clock.at(0);
    assert_eq!(r.report(t), vec![]);
    r
}

#[test]
fn a_socket_roster_its_own_api_no_longer_matches_is_a_ghost_once_answers_bear_it_out() {
    // The sockudo run: kill -9 of b; a's API soon lists only a's user, a's socket keeps
    // b's user and the guest connected through b.
    let clock = Clock::new();
    let mut r = two_with_a_guest(&clock);
    feed(
        &mut r,
        &clock,
        1_000,
        1,
        state(State::Connected, State::Connecting),
    );
    // b has no roster now: its API (refusing) is left out.
    answer(&mut r, &clock, 1_500, 1, None);
    answer(&mut r, &clock, 1_500, 1, Some(&["u-a"]));
    assert_eq!(api_report(&r, 1_500, &clock), vec![]);

    answer(&mut r, &clock, 2_000, 0, Some(&["u-a"]));
    let report = api_report(&r, 2_000, &clock);
    let who: Vec<&str> = report.iter().filter_map(|d| d.member.as_deref()).collect();
    assert_eq!(who, ["u-b", "guest"], "in the roster's order");
    let d = &report[1];
    assert_eq!(d.channel, ROOM);
    assert_eq!(d.listed_on, ["a"]);
    assert!(d.missing_on.is_empty());
    assert_eq!(d.since, clock.at(2_000).1);
    assert!(!d.ghost && !d.resolved);

    // Later answers that still leave it out bear it out; the time between reports alone
    // does not (the API may simply not have been asked again).
    answer(&mut r, &clock, 5_000, 0, Some(&["u-a"]));
    answer(&mut r, &clock, 7_000, 0, Some(&["u-a"]));
    let d = &api_report(&r, 7_400, &clock)[1];
    assert!(!d.ghost, "answers 5 s apart: not past the threshold");
    assert_eq!(d.for_ms, 5_400);
    answer(&mut r, &clock, 7_500, 0, Some(&["u-a"]));
    assert!(api_report(&r, 7_500, &clock).iter().all(|d| d.ghost));
    assert_eq!(r.take_resolved(), vec![], "nothing of the API's ended yet");

    // a's API lists u-b again: that difference ends, once, the ghost it was.
    answer(&mut r, &clock, 9_000, 0, Some(&["u-a", "u-b"]));
    let resolved: Vec<Divergence> = r
        .take_resolved()
        .into_iter()
        .filter(|d| d.kind == DivergenceKind::ApiMembers)
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].member.as_deref(), Some("u-b"));
    assert!(resolved[0].resolved && resolved[0].ghost);
    assert_eq!(resolved[0].for_ms, 7_000);
    assert_eq!(resolved[0].listed_on, ["a"]);
    // a's socket hears the guest leave at last: they agree, with no answer needed.
    feed(&mut r, &clock, 10_000, 0, removed("guest"));
    let resolved = r.take_resolved();
    let guest: Vec<&Divergence> = resolved
        .iter()
        .filter(|d| d.kind == DivergenceKind::ApiMembers)
        .collect();
    assert_eq!(guest.len(), 1);
    assert_eq!(guest[0].member.as_deref(), Some("guest"));
    assert!(guest[0].resolved && guest[0].ghost);
    assert_eq!(api_report(&r, 10_000, &clock), vec![]);
}

#[test]
fn a_member_the_api_lists_and_the_socket_does_not_is_never_a_ghost() {
    let clock = Clock::new();
    let mut r = two_with_a_guest(&clock);
    let four = ["u-a", "u-b", "guest", "late"];
    answer(&mut r, &clock, 1_000, 1, Some(&four));
    let report = api_report(&r, 1_000, &clock);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].member.as_deref(), Some("late"));
    assert!(report[0].listed_on.is_empty());
    assert_eq!(report[0].missing_on, ["b"]);
    for t in [10_000, 30_000, 60_000] {
        answer(&mut r, &clock, t, 1, Some(&four));
    }
    assert!(!api_report(&r, 60_000, &clock)[0].ghost);
    // b's socket hears of it: over at once.
    feed(&mut r, &clock, 60_500, 1, added("late"));
    assert_eq!(api_report(&r, 60_500, &clock), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0].resolved && !resolved[0].ghost);
    assert_eq!(resolved[0].for_ms, 59_500);
}

#[test]
fn a_change_on_the_socket_never_begins_a_difference_with_the_api() {
    let clock = Clock::new();
    let mut r = two_with_a_guest(&clock);
    // A join the socket hears of after the API was asked: no difference until an answer
    // says so.
    feed(&mut r, &clock, 1_000, 0, added("new"));
    feed(&mut r, &clock, 1_000, 1, added("new"));
    feed(&mut r, &clock, 1_000, 0, removed("guest"));
    feed(&mut r, &clock, 1_000, 1, removed("guest"));
    assert_eq!(api_report(&r, 1_000, &clock), vec![]);
    // The next answer knows it.
    answer(&mut r, &clock, 2_000, 0, Some(&["u-a", "u-b", "new"]));
    assert_eq!(api_report(&r, 2_000, &clock), vec![]);
    // An answer just before the join (it raced the socket): a short difference, resolved by
    // the next answer, not a ghost.
    feed(&mut r, &clock, 3_000, 0, added("racer"));
    answer(&mut r, &clock, 3_010, 0, Some(&["u-a", "u-b", "new"]));
    assert_eq!(api_report(&r, 3_010, &clock)[0].listed_on, ["a"]);
    answer(
        &mut r,
        &clock,
        8_020,
        0,
        Some(&["u-a", "u-b", "new", "racer"]),
    );
    assert_eq!(api_report(&r, 8_020, &clock), vec![]);
    let resolved: Vec<Divergence> = r
        .take_resolved()
        .into_iter()
        .filter(|d| d.kind == DivergenceKind::ApiMembers)
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].member.as_deref(), Some("racer"));
    assert!(!resolved[0].ghost);
}

#[test]
fn the_nodes_that_disagree_about_a_member_make_one_record() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    let all = ["u-a", "u-b", "u-c"];
    for node in 0..3 {
        answer(&mut r, &clock, 0, node, Some(&all));
    }
    answer(&mut r, &clock, 1_000, 0, Some(&["u-a", "u-b"]));
    answer(&mut r, &clock, 1_200, 2, Some(&["u-a", "u-b"]));
    answer(&mut r, &clock, 1_300, 1, Some(&["u-a", "u-b", "u-c", "x"]));
    let report = api_report(&r, 1_300, &clock);
    assert_eq!(report.len(), 2, "{report:?}");
    assert_eq!(report[0].member.as_deref(), Some("u-c"));
    assert_eq!(report[0].listed_on, ["a", "c"]);
    assert!(report[0].missing_on.is_empty());
    assert_eq!(report[0].since, clock.at(1_000).1);
    assert_eq!(report[1].member.as_deref(), Some("x"));
    assert_eq!(report[1].missing_on, ["b"]);
    // a's API agrees again: the same difference, on c alone, from when it began.
    answer(&mut r, &clock, 2_000, 0, Some(&all));
    let report = api_report(&r, 2_000, &clock);
    assert_eq!(report[0].listed_on, ["c"]);
    assert_eq!(report[0].for_ms, 1_000);
    assert_eq!(r.take_resolved(), vec![]);
    // c's socket, told late, lists x too; c's API lists x: that node's sides are so.
    feed(&mut r, &clock, 2_500, 2, added("x"));
    answer(&mut r, &clock, 2_600, 2, Some(&["u-a", "u-b", "x"]));
    let report = api_report(&r, 2_600, &clock);
    assert_eq!(report[0].listed_on, ["c"]);
    assert_eq!(report[1].member.as_deref(), Some("x"));
    assert_eq!(report[1].missing_on, ["b"]);
}

#[test]
fn an_api_that_fails_leaves_its_node_out() {
    let clock = Clock::new();
    let mut r = three_in_sync(&clock);
    answer(&mut r, &clock, 1_000, 0, Some(&["u-a", "u-b"]));
    answer(&mut r, &clock, 1_000, 1, Some(&["u-a", "u-b"]));
    assert_eq!(api_report(&r, 1_000, &clock)[0].listed_on, ["a", "b"]);
    answer(&mut r, &clock, 2_000, 0, None);
    assert_eq!(api_report(&r, 2_000, &clock)[0].listed_on, ["b"]);
    answer(&mut r, &clock, 3_000, 1, None);
    assert_eq!(api_report(&r, 3_000, &clock), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0].resolved);
    assert_eq!(resolved[0].listed_on, ["b"], "as it was when it ended");
    // Answering again, it is compared again: a new difference, from now.
    answer(&mut r, &clock, 4_000, 0, Some(&["u-a", "u-b"]));
    assert_eq!(api_report(&r, 4_000, &clock)[0].since, clock.at(4_000).1);
}

#[test]
fn a_node_without_a_roster_is_left_out() {
    let clock = Clock::new();
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    // No roster anywhere: nothing to compare.
    answer(&mut r, &clock, 0, 0, Some(&["x"]));
    assert_eq!(r.channels().count(), 0);
    feed(&mut r, &clock, 0, 0, members("u-a", &["u-a"]));
    // b has none: its answer is not compared; an unknown node's neither.
    answer(&mut r, &clock, 0, 1, Some(&["u-a", "y"]));
    answer(&mut r, &clock, 0, 7, Some(&["y"]));
    assert_eq!(api_report(&r, 0, &clock), vec![]);
    // a's is, until a's socket goes.
    answer(&mut r, &clock, 1_000, 0, Some(&["u-a", "y"]));
    assert_eq!(api_report(&r, 1_000, &clock)[0].missing_on, ["a"]);
    feed(
        &mut r,
        &clock,
        2_000,
        0,
        state(State::Connected, State::Connecting),
    );
    assert_eq!(api_report(&r, 2_000, &clock), vec![]);
    let resolved = r.take_resolved();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].kind, DivergenceKind::ApiMembers);
    assert!(resolved[0].resolved);
    // A fresh roster that agrees with the last answer's difference ends it too.
    feed(&mut r, &clock, 3_000, 0, members("u-a", &["u-a"]));
    answer(&mut r, &clock, 3_000, 0, Some(&["u-a", "y"]));
    assert_eq!(api_report(&r, 3_000, &clock).len(), 1);
    feed(&mut r, &clock, 4_000, 0, members("u-a", &["u-a", "y"]));
    assert_eq!(api_report(&r, 4_000, &clock), vec![]);
    assert_eq!(r.take_resolved().len(), 1);
}

#[test]
fn api_comparisons_are_bounded() {
    let clock = Clock::new();
    let (t, w) = clock.at(0);
    let mut r = Rosters::new(&names(&["a", "b"]), GHOST_AFTER);
    r.on_record(0, &members("u-a", &["u-a"]), t, w);
    // An answer past the cap is not compared (the roster could not hold as many).
    let many: Vec<String> = (0..MAX_MEMBERS + 1).map(|i| format!("m{i}")).collect();
    r.on_api_members(0, ROOM, Some(&many), t, w);
    assert_eq!(r.dropped().api_answers, 1);
    assert_eq!(r.report(t), vec![]);
    // Differences past the cap are counted, not followed.
    let some: Vec<String> = (0..MAX_DIVERGENCES + 5)
        .map(|i| format!("m{i}"))
        .chain(["u-a".to_string()])
        .collect();
    r.on_api_members(0, ROOM, Some(&some), t, w);
    assert_eq!(r.report(t).len(), MAX_DIVERGENCES);
    assert_eq!(r.dropped().divergences, 5);
    // The socket roster agreeing with them all ends them all, and makes room again.
    let (t, w) = clock.at(1_000);
    let ids: Vec<&str> = some.iter().map(String::as_str).collect();
    r.on_record(0, &members("u-a", &ids), t, w);
    assert_eq!(r.report(t), vec![]);
    assert_eq!(r.take_resolved().len(), MAX_DIVERGENCES);
    r.on_api_members(0, ROOM, Some(&users(&["u-a"])), t, w);
    assert_eq!(r.report(t).len(), MAX_DIVERGENCES);
}

#[test]
fn api_members_records_serialise_as_the_record_shapes_say() {
    let clock = Clock::new();
    let mut r = two_with_a_guest(&clock);
    answer(&mut r, &clock, 1_000, 0, Some(&["u-a", "u-b"]));
    answer(&mut r, &clock, 7_000, 0, Some(&["u-a", "u-b"]));
    let (t, _) = clock.at(7_500);
    let line = serde_json::to_value(&r.report(t)[0]).unwrap();
    assert_eq!(
        line,
        json!({
            "channel": ROOM,
            "kind": "api_members",
            "member": "guest",
            "listed_on": ["a"],
            "since": "2023-11-14T22:13:21.000Z",
            "for_ms": 6500,
            "ghost": true,
        })
    );
}
