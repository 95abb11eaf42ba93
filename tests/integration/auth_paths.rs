//! The remaining authorization paths end to end: the JSONP transport and user authentication
//! against a tiny HTTP/1.1 server on 127.0.0.1 written here, and the command authorizer with
//! `sh` scripts written to a temporary directory.

use crate::support::http_stub::{self, Reply, Seen};
use chanwatch_core::auth::{
    AuthTransport, Authorizer, CommandAuthorizer, EndpointAuthorizer, LocalUserSigner,
    UserAuthenticator, UserGrant, user_auth,
};
use chanwatch_core::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Generous: the CI machine is slow. Only a hang would reach it.
const BOUND: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(20);

/// Decides the answer from the request: (status, body).
type Answer = fn(&Seen) -> (u16, String);

async fn serve(path: &str, answer: Answer) -> (String, mpsc::UnboundedReceiver<Seen>) {
    http_stub::serve(path, move |seen| {
        let (status, body) = answer(seen);
        Reply::Answer(status, body)
    })
    .await
}

async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    timeout(BOUND, rx.recv())
        .await
        .expect("the server saw a request")
        .expect("the server is still running")
}

fn request(channel: &str) -> AuthRequest {
    AuthRequest {
        channel: channel.into(),
        socket_id: "123.456".into(),
    }
}

fn params() -> Vec<(String, String)> {
    vec![
        ("team".into(), "blue".into()),
        ("note".into(), "a b&c=d".into()),
    ]
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

// ---------------------------------------------------------------------------------------------
// JSONP

fn jsonp(url: &str) -> EndpointAuthorizer {
    EndpointAuthorizer::new(url, params(), vec![], WAIT)
        .unwrap()
        .with_transport(AuthTransport::Jsonp)
        .unwrap()
}

/// Answers in Laravel's style, calling back the function the request named.
fn jsonp_private(seen: &Seen) -> (u16, String) {
    let cb = seen.query_value("callback").unwrap_or("missing");
    (200, format!(r#"/**/{cb}({{"auth":"key:abc123"}});"#))
}

async fn run_jsonp(answer: Answer, channel: &str) -> (Result<AuthGrant, AuthFailure>, Seen) {
    let (url, mut rx) = serve("/pusher/auth", answer).await;
    let authorizer = Authorizer::Endpoint(jsonp(&url));
    let result = timeout(BOUND, authorizer.authorize(&request(channel)))
        .await
        .expect("authorize must finish on its own");
    (result, next_seen(&mut rx).await)
}

#[tokio::test]
async fn jsonp_sends_the_fields_in_the_query_string() {
    let (result, seen) = run_jsonp(jsonp_private, "private-orders").await;
    assert_eq!(
        result,
        Ok(AuthGrant {
            auth: "key:abc123".into(),
            channel_data: None,
            shared_secret: None,
        })
    );
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, "/pusher/auth");
    assert_eq!(
        pairs(&seen.query),
        [
            ("callback", "chanwatch_auth"),
            ("socket_id", "123.456"),
            ("channel_name", "private-orders"),
            ("team", "blue"),
            ("note", "a b&c=d"),
        ]
    );
    assert!(seen.body.is_empty());
    assert!(seen.header("content-type").is_empty());
}

#[tokio::test]
async fn jsonp_presence_with_a_spaced_wrapper() {
    fn answer(seen: &Seen) -> (u16, String) {
        let cb = seen.query_value("callback").unwrap().to_string();
        let body = json!({"auth": "key:p", "channel_data": r#"{"user_id":"7"}"#});
        (200, format!("\n  {cb} ( {body} ) ;\n"))
    }
    let (result, _) = run_jsonp(answer, "presence-room").await;
    let grant = result.unwrap();
    assert_eq!(grant.auth, "key:p");
    assert_eq!(grant.channel_data.as_deref(), Some(r#"{"user_id":"7"}"#));
}

#[tokio::test]
async fn jsonp_forbidden_quotes_the_body() {
    fn answer(_: &Seen) -> (u16, String) {
        (403, "Forbidden: not a member of orders".into())
    }
    let (result, _) = run_jsonp(answer, "private-orders").await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(403));
    assert_eq!(
        failure.message,
        "auth endpoint answered HTTP 403 Forbidden: Forbidden: not a member of orders"
    );
}

#[tokio::test]
async fn jsonp_answer_calling_another_function_is_explained() {
    fn answer(_: &Seen) -> (u16, String) {
        (200, r#"callback({"auth":"key:abc"});"#.into())
    }
    let (result, _) = run_jsonp(answer, "private-orders").await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure.message.contains(
            "not with a JSONP callback (it calls `callback` instead of the requested callback \
             `chanwatch_auth`)"
        ),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn jsonp_answer_of_bare_json_is_explained() {
    fn answer(_: &Seen) -> (u16, String) {
        (200, r#"{"auth":"key:abc"}"#.into())
    }
    let (result, _) = run_jsonp(answer, "private-orders").await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure
            .message
            .contains("it is not a call `chanwatch_auth(...)`"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.ends_with(r#"{"auth":"key:abc"}"#),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn jsonp_wrapped_answer_is_checked_like_an_ajax_body() {
    fn answer(seen: &Seen) -> (u16, String) {
        let cb = seen.query_value("callback").unwrap().to_string();
        (200, format!(r#"{cb}({{"token":"abc"}})"#))
    }
    let (result, _) = run_jsonp(answer, "private-orders").await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure.message.contains("no `auth` field"),
        "{}",
        failure.message
    );
}

// ---------------------------------------------------------------------------------------------
// User authentication

fn user_answer(seen: &Seen) -> (u16, String) {
    let body = json!({"auth": "key:usersig", "user_data": r#"{"id":"u-1","name":"Ann"}"#});
    match seen.query_value("callback") {
        Some(cb) => (200, format!("{cb}({body});")),
        None => (200, body.to_string()),
    }
}

fn expected_user_grant() -> UserGrant {
    UserGrant {
        auth: "key:usersig".into(),
        user_data: r#"{"id":"u-1","name":"Ann"}"#.into(),
    }
}

#[tokio::test]
async fn user_endpoint_posts_only_the_socket_id_and_params() {
    let (url, mut rx) = serve("/pusher/user-auth", user_answer).await;
    let endpoint = EndpointAuthorizer::new(
        &url,
        params(),
        vec![("Authorization".into(), "Bearer t0ken".into())],
        WAIT,
    )
    .unwrap();
    let grant = timeout(
        BOUND,
        UserAuthenticator::Endpoint(endpoint).authenticate("123.456"),
    )
    .await
    .expect("authenticate must finish on its own");
    assert_eq!(grant, Ok(expected_user_grant()));
    let seen = next_seen(&mut rx).await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/pusher/user-auth");
    assert_eq!(
        seen.header("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(seen.header("authorization"), ["Bearer t0ken"]);
    assert_eq!(
        pairs(&seen.form()),
        [
            ("socket_id", "123.456"),
            ("team", "blue"),
            ("note", "a b&c=d")
        ]
    );
}

#[tokio::test]
async fn user_endpoint_over_jsonp() {
    let (url, mut rx) = serve("/pusher/user-auth", user_answer).await;
    let authenticator = UserAuthenticator::Endpoint(jsonp(&url));
    let grant = timeout(BOUND, authenticator.authenticate("123.456"))
        .await
        .expect("authenticate must finish on its own");
    assert_eq!(grant, Ok(expected_user_grant()));
    let seen = next_seen(&mut rx).await;
    assert_eq!(seen.method, "GET");
    assert_eq!(
        pairs(&seen.query),
        [
            ("callback", "chanwatch_auth"),
            ("socket_id", "123.456"),
            ("team", "blue"),
            ("note", "a b&c=d"),
        ]
    );
}

#[tokio::test]
async fn user_endpoint_without_an_id_is_refused() {
    fn answer(_: &Seen) -> (u16, String) {
        (
            200,
            json!({"auth": "key:s", "user_data": r#"{"name":"Ann"}"#}).to_string(),
        )
    }
    let (url, _rx) = serve("/pusher/user-auth", answer).await;
    let endpoint = EndpointAuthorizer::new(&url, vec![], vec![], WAIT).unwrap();
    let failure = timeout(
        BOUND,
        UserAuthenticator::Endpoint(endpoint).authenticate("1.1"),
    )
    .await
    .expect("authenticate must finish on its own")
    .unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert!(
        failure
            .message
            .contains("user_data must be a JSON object with a non-empty string `id`"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn user_endpoint_forbidden() {
    fn answer(_: &Seen) -> (u16, String) {
        (403, "not signed in".into())
    }
    let (url, _rx) = serve("/pusher/user-auth", answer).await;
    let endpoint = EndpointAuthorizer::new(&url, vec![], vec![], WAIT).unwrap();
    let failure = timeout(
        BOUND,
        UserAuthenticator::Endpoint(endpoint).authenticate("1.1"),
    )
    .await
    .expect("authenticate must finish on its own")
    .unwrap_err();
    assert_eq!(failure.status, Some(403));
    assert!(
        failure.message.ends_with("not signed in"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn user_local_signs_socket_id_user_user_data() {
    let data = r#"{"id":"12345"}"#;
    let signer =
        LocalUserSigner::new("278d425bdf160c739803", "7ad3773142a6692b25b8", data).unwrap();
    let grant = UserAuthenticator::Local(signer)
        .authenticate("1234.1234")
        .await
        .unwrap();
    // protocol.md §5.2.
    assert_eq!(
        grant.auth,
        "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    );
    assert_eq!(grant.user_data, data);
    // A reconnect gets a new socket id and so a new signature for the same user.
    let again = UserAuthenticator::Local(
        LocalUserSigner::new("278d425bdf160c739803", "7ad3773142a6692b25b8", data).unwrap(),
    )
    .authenticate("99.1")
    .await
    .unwrap();
    assert_eq!(
        again.auth,
        user_auth("278d425bdf160c739803", "7ad3773142a6692b25b8", "99.1", data)
    );
}

// ---------------------------------------------------------------------------------------------
// The command authorizer

/// Writes `script` to a fresh temporary directory and returns the directory (kept alive by
/// the returned guard) and the command line running it.
fn script(body: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.sh");
    std::fs::write(&path, body).unwrap();
    let line = format!("sh '{}'", path.display());
    (dir, line)
}

fn command(line: &str, wait: Duration) -> CommandAuthorizer {
    CommandAuthorizer::new(line, wait).unwrap()
}

async fn authorize_with(
    line: &str,
    wait: Duration,
    channel: &str,
) -> Result<AuthGrant, AuthFailure> {
    timeout(
        BOUND,
        Authorizer::Command(command(line, wait)).authorize(&request(channel)),
    )
    .await
    .expect("authorize must finish on its own")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[tokio::test]
async fn command_gets_the_request_on_stdin_and_prints_the_grant() {
    let (dir, line) = script(
        r#"cat > "$(dirname "$0")/input.json"
printf '%s\n' '{"auth":"key:fromcmd","channel_data":"{\"user_id\":\"9\"}"}'
"#,
    );
    let grant = authorize_with(&line, WAIT, "presence-room").await.unwrap();
    assert_eq!(
        grant,
        AuthGrant {
            auth: "key:fromcmd".into(),
            channel_data: Some(r#"{"user_id":"9"}"#.into()),
            shared_secret: None,
        }
    );
    assert_eq!(
        read_json(dir.path().join("input.json")),
        json!({"socket_id": "123.456", "channel_name": "presence-room"})
    );
}

#[tokio::test]
async fn command_that_ignores_stdin_still_works() {
    let (_dir, line) = script("echo '{\"auth\":\"key:x\"}'\n");
    let grant = authorize_with(&line, WAIT, "private-orders").await.unwrap();
    assert_eq!(grant.auth, "key:x");
}

#[tokio::test]
async fn command_failing_reports_its_status_and_stderr() {
    let (_dir, line) = script("cat > /dev/null\necho 'user 123.456 may not join' >&2\nexit 3\n");
    let failure = authorize_with(&line, WAIT, "private-orders")
        .await
        .unwrap_err();
    assert_eq!(failure.status, None);
    assert!(
        failure.message
            == "auth command `sh ••••` exited with status 3; stderr: user 123.456 may not join",
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn command_that_does_not_exist() {
    let failure = authorize_with("/nonexistent/chanwatch-auth --flag", WAIT, "private-a")
        .await
        .unwrap_err();
    assert!(
        failure.message.starts_with(
            "auth command `/nonexistent/chanwatch-auth ••••` exited with status 127; stderr: "
        ),
        "{}",
        failure.message
    );
    assert!(!failure.message.contains("--flag"), "{}", failure.message);
}

#[tokio::test]
async fn command_printing_bad_json_is_explained_with_its_stderr() {
    let (_dir, line) = script("echo 'warning: no config' >&2\necho 'auth=key:x'\n");
    let failure = authorize_with(&line, WAIT, "private-orders")
        .await
        .unwrap_err();
    assert_eq!(failure.status, None);
    let m = &failure.message;
    assert!(
        m.contains("auth command `sh ••••` printed something that is not valid JSON ("),
        "{m}"
    );
    assert!(
        m.ends_with("): auth=key:x; stderr: warning: no config"),
        "{m}"
    );
}

#[tokio::test]
async fn command_printing_nothing() {
    let (_dir, line) = script("exit 0\n");
    let failure = authorize_with(&line, WAIT, "private-orders")
        .await
        .unwrap_err();
    assert!(
        failure
            .message
            .ends_with("`sh ••••` printed nothing on stdout; expected the auth JSON"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn command_answer_is_checked_like_an_endpoint_body() {
    let (_dir, line) = script("echo '{\"auth\":\"key:x\"}'\n");
    let failure = authorize_with(&line, WAIT, "private-encrypted-x")
        .await
        .unwrap_err();
    assert_eq!(
        failure.message,
        "No shared_secret key in auth payload for encrypted channel: private-encrypted-x"
    );
}

/// Whether `pid` has gone (or is a zombie waiting for its reaper).
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

#[tokio::test]
async fn command_that_hangs_is_killed_with_what_it_started() {
    let (dir, line) = script(
        r#"echo "working on it" >&2
sleep 60 &
echo $! > "$(dirname "$0")/sleep.pid"
wait
"#,
    );
    let failure = authorize_with(&line, Duration::from_millis(500), "private-orders")
        .await
        .unwrap_err();
    assert_eq!(failure.status, None);
    assert_eq!(failure.kind, AuthFailureKind::CommandFailed);
    assert!(
        failure.message.ends_with(
            "`sh ••••` did not finish within 500ms and was killed; stderr: working on it"
        ),
        "{}",
        failure.message
    );
    // The `sleep` the script started went with it (same process group).
    let pid_file: &Path = &dir.path().join("sleep.pid");
    let pid: u32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    #[cfg(target_os = "linux")]
    {
        let deadline = tokio::time::Instant::now() + BOUND;
        while !gone(pid) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "sleep {pid} survived the kill"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let _ = pid;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dropping_the_request_kills_the_command() {
    let (dir, line) = script(
        r#"sleep 60 &
echo $! > "$(dirname "$0")/sleep.pid.tmp"
mv "$(dirname "$0")/sleep.pid.tmp" "$(dirname "$0")/sleep.pid"
wait
"#,
    );
    let authorizer = Authorizer::Command(command(&line, BOUND));
    let task = tokio::spawn(async move { authorizer.authorize(&request("private-a")).await });
    let pid_file = dir.path().join("sleep.pid");
    let deadline = tokio::time::Instant::now() + BOUND;
    while !pid_file.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the script never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The subscription went away: its authorization future is dropped mid-run.
    task.abort();
    assert!(
        timeout(BOUND, task)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled()
    );
    while !gone(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sleep {pid} survived the drop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn command_user_authentication_gets_only_the_socket_id() {
    let (dir, line) = script(
        r#"cat > "$(dirname "$0")/input.json"
echo '{"auth":"key:u","user_data":"{\"id\":\"u-7\"}"}'
"#,
    );
    let grant = timeout(
        BOUND,
        UserAuthenticator::Command(command(&line, WAIT)).authenticate("123.456"),
    )
    .await
    .expect("authenticate must finish on its own")
    .unwrap();
    assert_eq!(
        grant,
        UserGrant {
            auth: "key:u".into(),
            user_data: r#"{"id":"u-7"}"#.into(),
        }
    );
    assert_eq!(
        read_json(dir.path().join("input.json")),
        json!({"socket_id": "123.456"})
    );
}

#[tokio::test]
async fn command_user_authentication_checks_the_id() {
    let (_dir, line) = script("echo '{\"auth\":\"key:u\",\"user_data\":\"{}\"}'\n");
    let failure = timeout(
        BOUND,
        UserAuthenticator::Command(command(&line, WAIT)).authenticate("1.1"),
    )
    .await
    .expect("authenticate must finish on its own")
    .unwrap_err();
    assert_eq!(failure.status, None);
    assert!(
        failure.message.contains("non-empty string `id`"),
        "{}",
        failure.message
    );
}
