//! The measures's timed work under tokio's paused clock: the HTTP API is a stub on loopback that
//! notes the virtual instant of every request and answers after a virtual delay, so the rules
//! (one probe request per interval at most, none while one is unanswered; occupancy polls only
//! while asked for) are checked on exact instants, whatever the machine's load.

use super::*;
use crate::probe::DEFAULT_CHANNEL;
use chanwatch_core::record::State;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the stub saw: each request's path and virtual time since the test began; the most
/// requests it ever had unanswered at once.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, Duration)>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Seen {
    fn requests(&self) -> Vec<(String, Duration)> {
        self.requests.lock().unwrap().clone()
    }
}

/// An HTTP/1.1 stub answering every request with `body` after `delay` (virtual time), one
/// request per connection.
async fn stub(delay: Duration, body: &'static str) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let start = tokio::time::Instant::now();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = s.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then as much body as Content-Length says.
                let (head_end, length) = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..at]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (at + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let line = String::from_utf8_lossy(&buf[..head_end]);
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                seen.requests.lock().unwrap().push((path, start.elapsed()));
                let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn api(url: &str) -> HttpApi {
    HttpApi::new(url, "app1", "key", "secret")
}

fn stamped(record: Record) -> Stamped {
    Stamped::now(record)
}

/// Connected and subscribed to the probe channel, as the client would report it.
fn connected(measures: &mut Measures) {
    let mut batch = vec![
        stamped(Record::State {
            previous: State::Connecting,
            current: State::Connected,
            socket_id: Some("1.2".into()),
            cause: None,
        }),
        stamped(Record::Subscribed {
            channel: DEFAULT_CHANNEL.into(),
        }),
    ];
    measures.observe(&mut batch, runtime_now());
}

/// Run the measures for `span` of virtual time; the records it produced.
async fn run_for(measures: &mut Measures, span: Duration) -> Vec<SessionRecord> {
    let end = tokio::time::Instant::now() + span;
    let mut out = Vec::new();
    while let Ok(records) = tokio::time::timeout_at(end, measures.next()).await {
        out.extend(records);
    }
    out
}

fn probing(interval: Duration) -> MeasuresOptions {
    MeasuresOptions {
        probe: Some(ProbeConfig::new(interval)),
        ..MeasuresOptions::default()
    }
}

fn millis(requests: &[(String, Duration)]) -> Vec<u128> {
    requests.iter().map(|(_, at)| at.as_millis()).collect()
}

/// Answers that come at once: exactly one request per interval, on the interval.
#[tokio::test(start_paused = true)]
async fn the_probe_publishes_once_per_interval() {
    let (url, seen) = stub(Duration::ZERO, "{}").await;
    let (mut measures, notices, commands) = Measures::start(
        probing(Duration::from_secs(1)),
        Some(api(&url)),
        runtime_now(),
    );
    assert!(notices.is_empty());
    assert_eq!(
        commands,
        [Command::Subscribe {
            channel: DEFAULT_CHANNEL.into()
        }]
    );
    // Nothing goes out before the probe channel is subscribed.
    run_for(&mut measures, Duration::from_millis(2500)).await;
    assert!(seen.requests().is_empty());
    connected(&mut measures);
    run_for(&mut measures, Duration::from_millis(9200)).await;
    let requests = seen.requests();
    assert!(
        requests
            .iter()
            .all(|(path, _)| path == "/apps/app1/events" || path.starts_with("/apps/app1/events?")),
        "{requests:?}"
    );
    // Subscribed at 2.5 s: the intervals before were used up unsent; then one a second.
    assert_eq!(
        millis(&requests),
        [3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000, 11_000],
        "{requests:?}"
    );
    assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), 1);
}

/// An answer that takes two and a half intervals: the intervals that pass meanwhile are
/// skipped, not made up afterwards, and no second request is ever outstanding. The probes
/// never come back over the socket, so each is reported lost with the API's time.
#[tokio::test(start_paused = true)]
async fn a_slow_api_is_never_asked_twice_at_once() {
    let (url, seen) = stub(Duration::from_millis(2500), "{}").await;
    let (mut measures, _, _) = Measures::start(
        probing(Duration::from_secs(1)),
        Some(api(&url)),
        runtime_now(),
    );
    connected(&mut measures);
    let records = run_for(&mut measures, Duration::from_millis(20_500)).await;
    let requests = seen.requests();
    assert_eq!(
        millis(&requests),
        [0, 3000, 6000, 9000, 12_000, 15_000, 18_000],
        "{requests:?}"
    );
    assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), 1);
    // Lost five seconds after each publish: those sent at 0, 3, 6, 9, 12 and 15 s.
    let lost: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            SessionRecord::Probe {
                seq,
                lost: true,
                api_ms,
                latency_ms: None,
                error: None,
            } => Some((*seq, *api_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        (1..=6).map(|s| (s, Some(2500))).collect::<Vec<_>>(),
        "{records:?}"
    );
}

/// Losing the connection stops the probe at once; it starts again when subscribed again.
#[tokio::test(start_paused = true)]
async fn the_probe_pauses_while_disconnected() {
    let (url, seen) = stub(Duration::ZERO, "{}").await;
    let (mut measures, _, _) = Measures::start(
        probing(Duration::from_secs(1)),
        Some(api(&url)),
        runtime_now(),
    );
    connected(&mut measures);
    run_for(&mut measures, Duration::from_millis(1500)).await;
    let mut batch = vec![stamped(Record::State {
        previous: State::Connected,
        current: State::Connecting,
        socket_id: None,
        cause: Some("pong timeout".into()),
    })];
    measures.observe(&mut batch, runtime_now());
    run_for(&mut measures, Duration::from_secs(5)).await;
    assert_eq!(millis(&seen.requests()), [0, 1000]);
    connected(&mut measures);
    run_for(&mut measures, Duration::from_millis(1200)).await;
    assert_eq!(millis(&seen.requests()), [0, 1000, 7000]);
}

const LISTING: &str = r#"{"channels":{"news":{"subscription_count":2}}}"#;

fn occupancy_records(records: &[SessionRecord]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, SessionRecord::Occupancy { .. }))
        .count()
}

/// The occupancy poll runs only while asked for: the stub counts the requests, before, while
/// and after the screen that wants it is shown.
#[tokio::test(start_paused = true)]
async fn occupancy_polls_only_while_turned_on() {
    let (url, seen) = stub(Duration::from_millis(100), LISTING).await;
    let options = MeasuresOptions {
        occupancy_interval: Duration::from_secs(1),
        ..MeasuresOptions::default()
    };
    let (mut measures, notices, _) = Measures::start(options, Some(api(&url)), runtime_now());
    assert!(notices.is_empty());
    // Off by default (the dashboard turns it on with its screen).
    let records = run_for(&mut measures, Duration::from_secs(10)).await;
    assert!(seen.requests().is_empty());
    assert!(records.is_empty());

    assert_eq!(measures.set_occupancy(true, runtime_now()), None);
    let records = run_for(&mut measures, Duration::from_millis(3050)).await;
    // At 10 s, then each second after the last answer: 10, 11.1, 12.2 s.
    assert_eq!(millis(&seen.requests()), [10_000, 11_100, 12_200]);
    assert!(
        seen.requests()
            .iter()
            .all(|(path, _)| path.starts_with("/apps/app1/channels?")),
        "{:?}",
        seen.requests()
    );
    assert_eq!(occupancy_records(&records), 3);

    // Turned off with a poll in flight (sent at 13.3 s): its answer is still shown, and
    // nothing follows it.
    let records = run_for(&mut measures, Duration::from_millis(300)).await;
    assert_eq!(occupancy_records(&records), 0);
    assert_eq!(seen.requests().len(), 4);
    assert_eq!(seen.in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(measures.set_occupancy(false, runtime_now()), None);
    let records = run_for(&mut measures, Duration::from_secs(30)).await;
    assert_eq!(seen.requests().len(), 4, "{:?}", seen.requests());
    assert_eq!(occupancy_records(&records), 1, "{records:?}");
    assert_eq!(measures.next_deadline(), None, "no timer left running");
}

/// Without the HTTP API, turning occupancy on says why it cannot and polls nothing.
#[tokio::test(start_paused = true)]
async fn occupancy_without_the_api_says_so() {
    let (mut measures, _, _) = Measures::start(MeasuresOptions::default(), None, runtime_now());
    let notice = measures.set_occupancy(true, runtime_now());
    assert!(
        matches!(&notice, Some(SessionRecord::CommandError { cmd, .. }) if cmd == "occupancy"),
        "{notice:?}"
    );
    assert_eq!(measures.next_deadline(), None);
}
