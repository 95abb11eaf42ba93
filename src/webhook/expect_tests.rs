use super::*;
use chanwatch_core::record::Member;
use serde_json::json;

fn hook(name: &str, channel: &str, user: Option<&str>) -> WebhookEvent {
    WebhookEvent {
        name: name.into(),
        channel: channel.into(),
        user_id: user.map(str::to_string),
        event: None,
        socket_id: None,
    }
}

fn member(id: &str) -> Member {
    Member {
        id: id.into(),
        info: json!({}),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn occupied_then_vacated_are_met_with_their_delays() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_record(
        t0,
        &Record::Subscribed {
            channel: "news".into(),
        },
    );
    let c = x
        .on_webhook(t0 + ms(16), &hook("channel_occupied", "news", None))
        .unwrap();
    assert_eq!((c.outcome, c.delay_ms), (Outcome::Met, Some(16)));
    x.on_record(
        t0 + ms(100),
        &Record::Unsubscribed {
            channel: "news".into(),
        },
    );
    let c = x
        .on_webhook(t0 + ms(3100), &hook("channel_vacated", "news", None))
        .unwrap();
    assert_eq!(
        (c.expect.as_str(), c.outcome, c.delay_ms),
        ("channel_vacated", Outcome::Met, Some(3000))
    );
    assert!(x.next_deadline().is_none());
}

#[test]
fn a_webhook_that_never_comes_is_missed_at_its_deadline_not_before() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_record(
        t0,
        &Record::Subscribed {
            channel: "news".into(),
        },
    );
    assert_eq!(x.next_deadline(), Some(t0 + Duration::from_secs(10)));
    assert!(x.tick(t0 + ms(9999)).is_empty());
    let missed = x.tick(t0 + Duration::from_secs(10));
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].outcome, Outcome::Missed);
    assert!(missed[0].detail.as_deref().unwrap().contains("before us"));
    assert!(x.tick(t0 + Duration::from_secs(60)).is_empty());
}

#[test]
fn vacated_while_still_subscribed_is_a_contradiction() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_record(
        t0,
        &Record::Subscribed {
            channel: "news".into(),
        },
    );
    x.on_webhook(t0, &hook("channel_occupied", "news", None));
    assert!(
        x.on_webhook(t0 + ms(5), &hook("channel_vacated", "news", None))
            .is_none()
    );
    assert_eq!(x.next_deadline(), Some(t0 + ms(5) + GRACE));
    assert!(x.tick(t0 + ms(900)).is_empty(), "not before the grace ends");
    let c = x.tick(t0 + ms(5) + GRACE).pop().unwrap();
    assert_eq!(c.outcome, Outcome::Contradicted);
    assert!(c.detail.unwrap().contains("still subscribed"));
    // A channel we know nothing about: no opinion.
    assert!(
        x.on_webhook(t0, &hook("channel_vacated", "other", None))
            .is_none()
    );
}

#[test]
fn presence_join_and_leave_expect_our_member_events() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    let ch = "presence-room";
    x.on_record(t0, &Record::Subscribed { channel: ch.into() });
    x.on_record(
        t0,
        &Record::Members {
            channel: ch.into(),
            me: Some(member("me")),
            count: 1,
            members: vec![member("me")],
        },
    );
    // Another user's member_added is not ours.
    assert!(
        x.on_webhook(t0, &hook("member_added", ch, Some("bob")))
            .is_none()
    );
    let c = x
        .on_webhook(t0 + ms(20), &hook("member_added", ch, Some("me")))
        .unwrap();
    assert_eq!(
        (c.outcome, c.user_id.as_deref()),
        (Outcome::Met, Some("me"))
    );
    x.on_record(
        t0,
        &Record::MemberAdded {
            channel: ch.into(),
            id: "bob".into(),
            info: json!({}),
        },
    );
    assert!(
        x.on_webhook(t0, &hook("member_removed", ch, Some("bob")))
            .is_none()
    );
    let c = x.tick(t0 + GRACE).pop().unwrap();
    assert_eq!(c.outcome, Outcome::Contradicted, "bob is still present");
    // The webhook first, the socket's frame a moment later: no contradiction.
    let cy = Record::MemberAdded {
        channel: ch.into(),
        id: "cy".into(),
        info: json!({}),
    };
    x.on_record(t0, &cy);
    assert!(
        x.on_webhook(t0, &hook("member_removed", ch, Some("cy")))
            .is_none()
    );
    let gone = Record::MemberRemoved {
        channel: ch.into(),
        id: "cy".into(),
    };
    x.on_record(t0 + ms(50), &gone);
    assert!(x.tick(t0 + GRACE).is_empty());
    x.on_record(
        t0,
        &Record::MemberRemoved {
            channel: ch.into(),
            id: "bob".into(),
        },
    );
    x.on_record(t0 + ms(1000), &Record::Unsubscribed { channel: ch.into() });
    let c = x
        .on_webhook(t0 + ms(4000), &hook("member_removed", ch, Some("me")))
        .unwrap();
    assert_eq!((c.outcome, c.delay_ms), (Outcome::Met, Some(3000)));
}

#[test]
fn others_already_present_mean_no_occupied_and_no_vacated() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    let ch = "presence-room";
    x.on_record(t0, &Record::Subscribed { channel: ch.into() });
    x.on_record(
        t0,
        &Record::Members {
            channel: ch.into(),
            me: Some(member("me")),
            count: 2,
            members: vec![member("me"), member("bob")],
        },
    );
    x.on_webhook(t0, &hook("member_added", ch, Some("me")));
    x.on_record(t0, &Record::Unsubscribed { channel: ch.into() });
    let pending: Vec<Check> = x.tick(t0 + Duration::from_secs(60));
    let names: Vec<&str> = pending.iter().map(|c| c.expect.as_str()).collect();
    assert_eq!(names, ["member_removed"]);
}

#[test]
fn subscription_count_over_one_cancels_the_occupied_expectation() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_record(
        t0,
        &Record::Subscribed {
            channel: "news".into(),
        },
    );
    let data = chanwatch_core::protocol::RawJson::parse(r#"{"subscription_count":2}"#).unwrap();
    x.on_record(
        t0,
        &Record::Event {
            channel: Some("news".into()),
            event: "pusher_internal:subscription_count".into(),
            data,
            user_id: None,
            decrypted: false,
        },
    );
    assert!(x.next_deadline().is_none());
}

#[test]
fn client_events_expect_a_client_event_webhook_of_that_name() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_client_event_sent(t0, "private-a", "client-typing");
    let mut other = hook("client_event", "private-a", None);
    other.event = Some("client-other".into());
    assert!(x.on_webhook(t0, &other).is_none());
    let mut ours = other.clone();
    ours.event = Some("client-typing".into());
    let c = x.on_webhook(t0 + ms(7), &ours).unwrap();
    assert_eq!((c.outcome, c.delay_ms), (Outcome::Met, Some(7)));
}

#[test]
fn losing_the_connection_counts_as_leaving_every_channel() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    x.on_record(
        t0,
        &Record::Subscribed {
            channel: "a".into(),
        },
    );
    x.on_webhook(t0, &hook("channel_occupied", "a", None));
    x.on_record(
        t0,
        &Record::State {
            previous: State::Connected,
            current: State::Unavailable,
            socket_id: None,
            cause: None,
        },
    );
    let c = x
        .on_webhook(t0 + ms(3000), &hook("channel_vacated", "a", None))
        .unwrap();
    assert_eq!(c.outcome, Outcome::Met);
}

#[test]
fn pending_expectations_are_bounded() {
    let t0 = Instant::now();
    let mut x = Expectations::new(Timeouts::default());
    for i in 0..(MAX_PENDING + 10) {
        x.on_client_event_sent(t0 + ms(i as u64), "c", "client-x");
    }
    assert_eq!(x.tick(t0 + Duration::from_secs(3600)).len(), MAX_PENDING);
}
