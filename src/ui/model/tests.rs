//! Records applied to the model alone: no keys, no screen.
use crate::session_record::SessionRecord;

use super::*;
use chanwatch_core::record::{AuthFailureKind, Member, State};
use serde_json::json;
use std::time::Duration;

struct Fx {
    model: Model,
    t0: Instant,
    wall0: SystemTime,
}

impl Fx {
    fn new() -> Fx {
        let t0 = Instant::now();
        let limits = Limits {
            log_capacity: 100,
            log_bytes: 1 << 20,
            measures: true,
        };
        Fx {
            model: Model::new(limits, t0),
            t0,
            wall0: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    fn at(&mut self, ms: u64, record: SessionRecord) -> Option<News> {
        let ms = Duration::from_millis(ms);
        let stamped = Stamped {
            node: None,
            ts: self.wall0 + ms,
            record,
        };
        self.model.apply(stamped, self.t0 + ms)
    }

    fn state(&mut self, ms: u64, previous: State, current: State) -> Option<News> {
        let socket_id = (current == State::Connected).then(|| "1.2".to_string());
        self.at(
            ms,
            SessionRecord::Client(Record::State {
                previous,
                current,
                socket_id,
                cause: None,
            }),
        )
    }

    fn event(&mut self, ms: u64, channel: &str, event: &str, data: Value) -> Option<News> {
        self.at(
            ms,
            SessionRecord::Client(Record::Event {
                channel: Some(channel.into()),
                event: event.into(),
                data: data.into(),
                user_id: None,
                decrypted: false,
            }),
        )
    }

    fn channel(&self, name: &str) -> &Channel {
        &self.model.channels()[name]
    }

    fn last_note(&self) -> Option<&TimelineKind> {
        self.model.timeline().iter().last().map(|e| &e.kind)
    }
}

#[test]
fn states_move_the_status_and_a_reconnect_is_counted() {
    let mut fx = Fx::new();
    fx.state(0, State::Initialized, State::Connecting);
    fx.state(200, State::Connecting, State::Connected);
    let st = fx.model.status();
    assert_eq!(st.state, State::Connected);
    assert_eq!(st.socket_id.as_deref(), Some("1.2"));
    assert_eq!(st.since, fx.t0 + Duration::from_millis(200));
    assert_eq!(st.reconnects, 0);
    match fx.last_note() {
        Some(TimelineKind::State { in_previous, .. }) => {
            assert_eq!(*in_previous, Some(Duration::from_millis(200)));
        }
        other => panic!("{other:?}"),
    }
    fx.state(1_000, State::Connected, State::Unavailable);
    assert_eq!(fx.model.status().socket_id, None);
    fx.state(2_000, State::Unavailable, State::Connected);
    assert_eq!(fx.model.status().reconnects, 1);
}

#[test]
fn a_retry_countdown_ends_on_connect_and_on_the_tick_after_it_is_due() {
    let mut fx = Fx::new();
    fx.at(
        0,
        SessionRecord::Client(Record::ConnectingIn {
            delay_ms: 1_000,
            reason: None,
        }),
    );
    assert_eq!(
        fx.model.status().retry_at,
        Some(fx.t0 + Duration::from_secs(1))
    );
    assert_eq!(
        fx.last_note(),
        Some(&TimelineKind::ConnectingIn(Duration::from_secs(1)))
    );
    fx.model.tick(fx.t0 + Duration::from_millis(999));
    assert!(fx.model.status().retry_at.is_some());
    fx.model.tick(fx.t0 + Duration::from_secs(1));
    assert_eq!(fx.model.status().retry_at, None);
}

#[test]
fn losing_the_connection_sets_subscribed_channels_pending_and_forgets_their_facts() {
    let mut fx = Fx::new();
    fx.state(0, State::Connecting, State::Connected);
    fx.at(
        1,
        SessionRecord::Client(Record::Subscribed {
            channel: "presence-a".into(),
        }),
    );
    let me = Member {
        id: "1".into(),
        info: json!({}),
    };
    fx.at(
        2,
        SessionRecord::Client(Record::Members {
            channel: "presence-a".into(),
            me: Some(me.clone()),
            count: 1,
            members: vec![me],
        }),
    );
    fx.event(
        3,
        "presence-a",
        "pusher:subscription_count",
        json!({"subscription_count": 4}),
    );
    assert_eq!(fx.channel("presence-a").subscription_count, Some(4));
    assert_eq!(fx.channel("presence-a").events, 1);
    assert!(fx.channel("presence-a").roster.is_some());
    fx.state(10, State::Connected, State::Unavailable);
    let c = fx.channel("presence-a");
    assert_eq!(c.status, ChannelStatus::Pending);
    assert_eq!((c.roster.as_ref(), c.subscription_count), (None, None));
}

#[test]
fn events_are_logged_counted_and_reported_as_news() {
    let mut fx = Fx::new();
    fx.at(
        0,
        SessionRecord::Client(Record::Subscribed {
            channel: "cache-a".into(),
        }),
    );
    assert_eq!(
        fx.event(1, "cache-a", "pusher:cache_miss", json!({})),
        Some(News::Event)
    );
    assert_eq!(fx.event(2, "other", "e", json!(1)), Some(News::Event));
    assert!(fx.channel("cache-a").cache_miss);
    assert_eq!(fx.model.log().len(), 2);
    assert!(
        fx.model.channels().get("other").is_none(),
        "events name no channel into being"
    );
}

#[test]
fn a_failed_subscription_says_whether_its_authorization_failed() {
    let mut fx = Fx::new();
    fx.at(
        0,
        SessionRecord::Client(Record::Auth {
            channel: "private-a".into(),
            socket_id: "1.2".into(),
            request: json!({}),
            ok: false,
            status: Some(403),
            response: json!({"error": "no"}),
            duration_ms: 5,
            failure: Some(AuthFailureKind::HttpStatus(403)),
        }),
    );
    assert_eq!(
        fx.model.auth_exchange("private-a").unwrap().summary(),
        "failed 403 (5 ms)"
    );
    let news = fx.at(
        1,
        SessionRecord::Client(Record::SubscriptionError {
            channel: "private-a".into(),
            status: Some(403),
            message: "refused".into(),
        }),
    );
    assert_eq!(
        news,
        Some(News::SubscriptionFailed {
            text: "subscribing private-a failed (403): refused".into(),
            auth_failed: true,
        })
    );
    assert!(matches!(
        fx.channel("private-a").status,
        ChannelStatus::Failed {
            status: Some(403),
            ..
        }
    ));
}

#[test]
fn the_user_unsubscribes_and_the_server_confirms() {
    let mut fx = Fx::new();
    for name in ["a", "b"] {
        fx.at(
            0,
            SessionRecord::Client(Record::Subscribed {
                channel: name.into(),
            }),
        );
    }
    assert_eq!(fx.model.unsubscribing(1), Some(("b".into(), false)));
    assert_eq!(fx.channel("b").status, ChannelStatus::Leaving);
    // A late `subscribed` does not undo the leaving.
    fx.at(
        1,
        SessionRecord::Client(Record::Subscribed {
            channel: "b".into(),
        }),
    );
    assert_eq!(fx.channel("b").status, ChannelStatus::Leaving);
    let news = fx.at(
        2,
        SessionRecord::Client(Record::Unsubscribed {
            channel: "b".into(),
        }),
    );
    assert_eq!(news, Some(News::ChannelRemoved(1)));
    assert_eq!(
        fx.at(
            3,
            SessionRecord::Client(Record::Unsubscribed {
                channel: "b".into()
            })
        ),
        None
    );
    assert_eq!(fx.model.unsubscribing(5), None);
}

#[test]
fn list_answers_are_news_only_when_awaited_and_in_time() {
    let mut fx = Fx::new();
    let answer = json!({"a": {}, "b": {}});
    let channels = |prefix: Option<&str>| SessionRecord::Channels {
        prefix: prefix.map(str::to_string),
        channels: answer.clone(),
    };
    assert_eq!(fx.at(0, channels(None)), None);
    assert_eq!(
        fx.last_note(),
        Some(&TimelineKind::Note("2 occupied channel(s): a, b".into()))
    );
    fx.model.await_channel_list(Some("p".into()), fx.t0);
    assert_eq!(fx.at(1, channels(None)), None, "another prefix");
    assert!(matches!(
        fx.at(2, channels(Some("p"))),
        Some(News::ChannelList { .. })
    ));
    assert_eq!(fx.at(3, channels(Some("p"))), None, "answered once");
    fx.model.await_channel_list(None, fx.t0);
    let late = LIST_WAIT.as_millis() as u64 + 1;
    assert_eq!(fx.at(late, channels(None)), None, "too late");
}

#[test]
fn users_answers_are_kept_on_the_channel_and_compared_with_the_roster() {
    let mut fx = Fx::new();
    fx.at(
        0,
        SessionRecord::Client(Record::Subscribed {
            channel: "presence-a".into(),
        }),
    );
    fx.at(
        0,
        SessionRecord::Client(Record::MemberAdded {
            channel: "presence-a".into(),
            id: "1".into(),
            info: json!({}),
        }),
    );
    fx.model.await_users("presence-a", fx.t0);
    let users = |ids: &[&str]| SessionRecord::Users {
        channel: "presence-a".into(),
        users: ids.iter().map(|s| s.to_string()).collect(),
    };
    let news = fx.at(1, users(&["2"]));
    assert_eq!(
        news,
        Some(News::Info(
            "HTTP API: 1 user(s) on presence-a, 1 not in the live member list, \
             1 live member(s) missing from it"
                .into()
        ))
    );
    assert_eq!(
        fx.channel("presence-a").api_users.as_ref().unwrap().ids,
        ["2"]
    );
    assert_eq!(fx.at(2, users(&["1"])), None, "unasked");
    assert_eq!(
        fx.last_note(),
        Some(&TimelineKind::Note("presence-a users: 1".into()))
    );
}

#[test]
fn a_failed_side_command_stops_the_wait_and_is_an_error() {
    let mut fx = Fx::new();
    fx.model.await_channel_list(None, fx.t0);
    let news = fx.at(
        0,
        SessionRecord::CommandError {
            cmd: "list_channels".into(),
            channel: None,
            status: Some(500),
            message: "boom".into(),
        },
    );
    assert_eq!(news, Some(News::Error("boom".into())));
    assert_eq!(
        fx.last_note(),
        Some(&TimelineKind::Error {
            code: Some(500),
            message: "boom".into()
        })
    );
    let answer = SessionRecord::Channels {
        prefix: None,
        channels: json!({}),
    };
    assert_eq!(fx.at(1, answer), None, "no longer awaited");
}

#[test]
fn sign_in_belongs_to_one_connection() {
    let mut fx = Fx::new();
    fx.state(0, State::Connecting, State::Connected);
    fx.at(
        1,
        SessionRecord::Client(Record::SignedIn {
            user_id: "u1".into(),
            user_data: json!({}),
        }),
    );
    assert_eq!(fx.model.status().user_id.as_deref(), Some("u1"));
    fx.state(2, State::Connected, State::Unavailable);
    assert_eq!(fx.model.status().user_id, None);
    let news = fx.at(
        3,
        SessionRecord::Client(Record::SigninError {
            status: None,
            message: "nope".into(),
        }),
    );
    assert_eq!(news, Some(News::Error("sign-in failed: nope".into())));
}

#[test]
fn the_timeline_is_bounded_and_counts_what_it_forgot() {
    let mut fx = Fx::new();
    for i in 0..TIMELINE_CAPACITY as u64 + 5 {
        fx.at(
            i,
            SessionRecord::Fault {
                fault: format!("f{i}"),
            },
        );
    }
    assert_eq!(fx.model.timeline().len(), TIMELINE_CAPACITY);
    assert_eq!(fx.model.timeline().pushed(), TIMELINE_CAPACITY as u64 + 5);
    assert_eq!(
        fx.last_note(),
        Some(&TimelineKind::Fault(format!("f{}", TIMELINE_CAPACITY + 4)))
    );
    fx.model.client_gone(fx.wall0);
    assert!(fx.model.status().client_gone);
    assert_eq!(fx.last_note(), Some(&TimelineKind::ClientGone));
}

/// Whatever records say (a server or a recording), the model keeps bounded amounts: the
/// channels, each roster, each auth exchange and every text.
#[test]
fn records_past_the_caps_are_counted_or_cut() {
    use super::caps::{CUT_MARK, MAX_AUTH_JSON, MAX_CHANNELS, MAX_MEMBER_ID, MAX_TEXT};
    let mut fx = Fx::new();
    let extra = 2_000;
    for i in 0..MAX_CHANNELS + extra {
        fx.at(
            1,
            SessionRecord::Client(Record::MemberAdded {
                channel: format!("presence-{i}"),
                id: "1".into(),
                info: json!({ "name": "x".repeat(10_000) }),
            }),
        );
    }
    assert_eq!(fx.model.channels().len(), MAX_CHANNELS);
    assert_eq!(fx.model.channels_dropped(), extra as u64);
    let info = &fx.model.channels()["presence-0"]
        .roster
        .as_ref()
        .unwrap()
        .members["1"]
        .info;
    assert!(
        info.as_str().is_some_and(|s| s.ends_with(CUT_MARK)),
        "info cut"
    );
    // A kept channel still takes its records; a long id is only counted.
    fx.at(
        2,
        SessionRecord::Client(Record::MemberAdded {
            channel: "presence-0".into(),
            id: "9".repeat(MAX_MEMBER_ID + 1),
            info: json!(null),
        }),
    );
    let roster = fx.model.channels()["presence-0"].roster.as_ref().unwrap();
    assert_eq!((roster.members.len(), roster.count()), (1, 2));
    fx.at(
        3,
        SessionRecord::Client(Record::Subscribed {
            channel: "presence-new".into(),
        }),
    );
    assert!(!fx.model.channels().contains_key("presence-new"));

    // An auth exchange holding a million-element array keeps its first 64 KiB.
    fx.at(
        4,
        SessionRecord::Client(Record::Auth {
            channel: "private-a".into(),
            socket_id: "1.2".into(),
            request: json!(vec![0; 1_000_000]),
            ok: false,
            status: Some(500),
            response: json!({ "error": "e".repeat(200_000) }),
            duration_ms: 1,
            failure: None,
        }),
    );
    let x = fx.model.auth_exchange("private-a").unwrap();
    for v in [&x.request, &x.response] {
        let s = v.as_str().expect("kept as its cut text");
        assert!(s.len() <= MAX_AUTH_JSON + CUT_MARK.len() && s.ends_with(CUT_MARK));
    }

    // Texts: a server's error message of 1 MB is kept cut.
    fx.at(
        5,
        SessionRecord::Client(Record::Error {
            code: Some(4000),
            message: "m".repeat(1 << 20),
        }),
    );
    let last = fx.model.timeline().iter().last().unwrap();
    let TimelineKind::Error { message, .. } = &last.kind else {
        panic!("{last:?}")
    };
    assert_eq!(message.len(), MAX_TEXT + CUT_MARK.len());
}
