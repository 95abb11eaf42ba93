//! The endpoint authorizer against a tiny HTTP/1.1 server written here: one request per
//! connection, parsed by hand, so the test sees exactly what went over the wire.

use crate::support::http_stub::{self, Reply, Seen};
use chanwatch_core::auth::{Authorizer, EndpointAuthorizer};
use chanwatch_core::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Generous: the CI machine is slow. Only a hang would reach it.
const BOUND: Duration = Duration::from_secs(30);

/// The endpoint's canned answer in each test.
#[derive(Clone, Copy)]
enum Canned {
    Answer(u16, &'static str),
    /// Read the request, then never answer.
    Hang,
}

/// Serves `canned` to every connection; returns the endpoint URL and the requests seen.
async fn serve(canned: Canned) -> (String, mpsc::UnboundedReceiver<Seen>) {
    http_stub::serve("/pusher/auth", move |_| match canned {
        Canned::Answer(status, text) => Reply::Answer(status, text.to_string()),
        Canned::Hang => Reply::Hang,
    })
    .await
}

fn authorizer(url: &str, wait: Duration) -> Authorizer {
    Authorizer::Endpoint(
        EndpointAuthorizer::new(
            url,
            vec![
                ("team".into(), "blue".into()),
                ("note".into(), "a b&c=d".into()),
            ],
            vec![
                ("Authorization".into(), "Bearer t0ken".into()),
                ("X-Trace".into(), "abc-1".into()),
            ],
            wait,
        )
        .unwrap(),
    )
}

fn request(channel: &str) -> AuthRequest {
    AuthRequest {
        channel: channel.into(),
        socket_id: "123.456".into(),
    }
}

/// Authorizes `channel` against a server giving `reply`, returning the result and the
/// request the server saw.
async fn run(
    reply: Canned,
    channel: &str,
    wait: Duration,
) -> (Result<AuthGrant, AuthFailure>, Seen) {
    let (url, mut seen) = serve(reply).await;
    let result = timeout(BOUND, authorizer(&url, wait).authorize(&request(channel)))
        .await
        .expect("authorize must finish on its own");
    let seen = timeout(BOUND, seen.recv())
        .await
        .expect("the server saw a request")
        .expect("the server is still running");
    assert_request(&seen, channel);
    (result, seen)
}

fn assert_request(seen: &Seen, channel: &str) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/pusher/auth");
    assert_eq!(
        seen.header("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(seen.header("authorization"), ["Bearer t0ken"]);
    assert_eq!(seen.header("x-trace"), ["abc-1"]);
    let form = seen.form();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        form,
        [
            ("socket_id", "123.456"),
            ("channel_name", channel),
            ("team", "blue"),
            ("note", "a b&c=d"),
        ]
    );
}

const DEFAULT_WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn private_channel_ok() {
    let (result, _) = run(
        Canned::Answer(200, r#"{"auth":"key:abc123"}"#),
        "private-orders",
        DEFAULT_WAIT,
    )
    .await;
    assert_eq!(
        result,
        Ok(AuthGrant {
            auth: "key:abc123".into(),
            channel_data: None,
            shared_secret: None,
        })
    );
}

#[tokio::test]
async fn presence_channel_with_channel_data() {
    let (result, _) = run(
        Canned::Answer(
            200,
            r#"{"auth":"key:abc","channel_data":"{\"user_id\":\"7\",\"user_info\":{\"name\":\"Ann\"}}"}"#,
        ),
        "presence-room",
        DEFAULT_WAIT,
    )
    .await;
    let grant = result.unwrap();
    assert_eq!(grant.auth, "key:abc");
    assert_eq!(
        grant.channel_data.as_deref(),
        Some(r#"{"user_id":"7","user_info":{"name":"Ann"}}"#)
    );
}

#[tokio::test]
async fn presence_channel_without_channel_data() {
    let (result, _) = run(
        Canned::Answer(200, r#"{"auth":"key:abc"}"#),
        "presence-room",
        DEFAULT_WAIT,
    )
    .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure
            .message
            .contains("presence authorization has no channel_data"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn forbidden_quotes_the_body() {
    let (result, _) = run(
        Canned::Answer(403, "Forbidden: not a member of orders"),
        "private-orders",
        DEFAULT_WAIT,
    )
    .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(403));
    assert!(failure.message.contains("403"), "{}", failure.message);
    assert!(
        failure.message.contains("not a member of orders"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn server_error() {
    let (result, _) = run(
        Canned::Answer(500, r#"{"error":"database down"}"#),
        "private-orders",
        DEFAULT_WAIT,
    )
    .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(500));
    assert!(
        failure.message.contains("database down"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn invalid_json() {
    let (result, _) = run(
        Canned::Answer(200, "<html>login page</html>"),
        "private-orders",
        DEFAULT_WAIT,
    )
    .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure.message.contains("not valid JSON"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("login page"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn missing_auth_field() {
    let (result, _) = run(
        Canned::Answer(200, r#"{"token":"abc"}"#),
        "private-orders",
        DEFAULT_WAIT,
    )
    .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure.message.contains(r#"{"auth":"key:signature"}"#),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn hanging_endpoint_times_out() {
    let (result, _) = run(Canned::Hang, "private-orders", Duration::from_millis(300)).await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, None);
    assert_eq!(failure.kind, AuthFailureKind::Timeout);
    assert_eq!(failure.message, "auth endpoint did not answer within 300ms");
}

#[tokio::test]
async fn refused_port() {
    // Bind and release a port so that, very likely, nothing listens there.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/pusher/auth");
    let failure = timeout(
        BOUND,
        authorizer(&url, DEFAULT_WAIT).authorize(&request("private-orders")),
    )
    .await
    .expect("authorize must finish on its own")
    .unwrap_err();
    assert_eq!(failure.status, None);
    assert_eq!(failure.kind, AuthFailureKind::Unreachable);
    assert!(
        failure.message.starts_with(&format!(
            "auth request to http://127.0.0.1:{port}/pusher/auth failed: "
        )),
        "{}",
        failure.message
    );
    assert!(
        failure.message.to_lowercase().contains("refused"),
        "{}",
        failure.message
    );
}

/// A redirect to another port is another origin: the request carrying the headers and
/// params is not repeated there, and the failure says so.
#[tokio::test]
async fn redirect_to_another_origin_is_not_followed() {
    let (elsewhere, mut stolen) = http_stub::serve("/collect", |_| {
        Reply::Answer(200, r#"{"auth":"key:forged"}"#.into())
    })
    .await;
    let target = format!("{elsewhere}?from=auth");
    let (url, mut seen) = http_stub::serve("/pusher/auth", move |_| {
        Reply::Redirect(307, target.clone())
    })
    .await;
    let user = EndpointAuthorizer::new(
        &url,
        vec![("team".into(), "blue".into())],
        vec![("X-Team-Token".into(), "sekrit".into())],
        DEFAULT_WAIT,
    )
    .unwrap();
    let failure = timeout(
        BOUND,
        authorizer(&url, DEFAULT_WAIT).authorize(&request("private-orders")),
    )
    .await
    .expect("authorize must finish on its own")
    .unwrap_err();
    assert_request(&seen.recv().await.unwrap(), "private-orders");
    assert_eq!(failure.status, None);
    let origin = elsewhere.trim_end_matches("/collect");
    assert!(
        failure.message.contains("redirect")
            && failure.message.contains("another origin")
            && failure.message.contains(origin),
        "{}",
        failure.message
    );
    assert!(
        !failure.message.contains("from=auth"),
        "{}",
        failure.message
    );

    // User authentication goes through the same client.
    let failure = timeout(BOUND, user.authenticate_user("123.456"))
        .await
        .expect("authenticate_user must finish on its own")
        .unwrap_err();
    assert!(
        failure.message.contains("another origin"),
        "{}",
        failure.message
    );
    assert!(seen.recv().await.is_some());
    // Give a wrongly followed redirect time to arrive; nothing may.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        stolen.try_recv().is_err(),
        "the other origin was asked: the headers went with it"
    );
}

/// Within the endpoint's own origin a redirect is followed (a framework moving a route),
/// but not forever.
#[tokio::test]
async fn same_origin_redirects_are_followed_a_bounded_number_of_times() {
    let (url, mut seen) = http_stub::serve("/pusher/auth", |req| match req.path.as_str() {
        "/pusher/auth" => Reply::Redirect(307, "/broadcasting/auth".into()),
        "/broadcasting/auth" => Reply::Answer(200, r#"{"auth":"key:moved"}"#.into()),
        _ => Reply::Redirect(302, req.path.clone()),
    })
    .await;
    let result = timeout(
        BOUND,
        authorizer(&url, DEFAULT_WAIT).authorize(&request("private-orders")),
    )
    .await
    .expect("authorize must finish on its own");
    assert_eq!(result.unwrap().auth, "key:moved");
    assert_request(&seen.recv().await.unwrap(), "private-orders");
    let moved = seen.recv().await.unwrap();
    assert_eq!(moved.path, "/broadcasting/auth");
    assert_eq!(moved.header("x-trace"), ["abc-1"], "307 keeps the request");

    let looping = url.replace("/pusher/auth", "/loop");
    let failure = timeout(
        BOUND,
        authorizer(&looping, DEFAULT_WAIT).authorize(&request("private-orders")),
    )
    .await
    .expect("authorize must finish on its own")
    .unwrap_err();
    assert!(failure.message.contains("redirects"), "{}", failure.message);
}
