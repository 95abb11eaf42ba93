//! Authorizing through an external command: the terminal counterpart of pusher-js's
//! `customHandler`. The command gets `{"socket_id":..,"channel_name":..}` (or just
//! `{"socket_id":..}` for user authentication) as one line of JSON on stdin and prints the
//! auth JSON on stdout, as an auth endpoint would answer with a 200.
//!
//! The command line is run by the shell (`sh -c LINE`; `cmd /C LINE` on Windows), so quoting,
//! pipes, `~` and `$VARS` work as typed in a terminal. On Unix it runs in its own process
//! group, so a timeout kills everything it started, and Ctrl-C in the dashboard does not
//! reach it.

use super::response::{EXCERPT_CHARS, Origin, interpret_grant, interpret_user_grant};
use super::user::UserGrant;
use crate::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use serde_json::{Value, json};
use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// An auth answer is a few hundred bytes; more than this on stdout is a mistake.
const MAX_STDOUT: usize = 1 << 20;
/// Enough stderr for any excerpt; the rest is drained and dropped.
const MAX_STDERR: usize = 64 * 1024;
/// After the kill, how long to wait for the process to be reaped.
const REAP_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct CommandAuthorizer {
    line: String,
    shown: String,
    timeout: Duration,
}

impl CommandAuthorizer {
    /// `line` is a shell command line; `timeout` bounds each run.
    pub fn new(line: &str, timeout: Duration) -> Result<CommandAuthorizer, String> {
        if line.trim().is_empty() {
            return Err("the auth command is empty".into());
        }
        if timeout.is_zero() {
            return Err("the auth timeout must be longer than zero".into());
        }
        Ok(CommandAuthorizer {
            line: line.to_string(),
            shown: format!("`{}`", crate::mask::shown_command_line(line)),
            timeout,
        })
    }

    /// How messages name the command: its program, every argument masked (an argument may
    /// be a token). Already in backquotes.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Authorizes a channel subscription: stdin `{"socket_id","channel_name"}`.
    pub async fn authorize(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        super::refuse_bad_socket_id(&req.socket_id)?;
        let input = json!({"socket_id": req.socket_id, "channel_name": req.channel});
        let run = self.run(&input).await?;
        interpret_grant(&req.channel, &run.stdout, Origin::Command(&self.shown))
            .map_err(|f| run.with_stderr(f))
    }

    /// Authenticates the user for `pusher:signin`: stdin `{"socket_id"}`, stdout
    /// `{"auth","user_data"}`.
    pub async fn authenticate_user(&self, socket_id: &str) -> Result<UserGrant, AuthFailure> {
        super::refuse_bad_socket_id(socket_id)?;
        let input = json!({"socket_id": socket_id});
        let run = self.run(&input).await?;
        interpret_user_grant(&run.stdout, Origin::Command(&self.shown))
            .map_err(|f| run.with_stderr(f))
    }

    /// Runs the command with `input` on stdin; a successful exit with something on stdout is
    /// the only success.
    async fn run(&self, input: &Value) -> Result<Finished, AuthFailure> {
        let fail = |message: String| AuthFailure::new(AuthFailureKind::CommandFailed, message);
        let shown = &self.shown;
        let mut child = shell(&self.line)
            .spawn()
            .map_err(|e| fail(format!("cannot start auth command {shown}: {e}")))?;
        // Armed until the command is known to have exited: a timeout, an error, or this
        // future being dropped (the subscription went away) kills the whole group.
        let mut group = GroupKill(child.id());
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill(&mut child, &mut group).await;
            return Err(fail(format!(
                "cannot talk to auth command {shown}: its standard streams are not available"
            )));
        };
        let mut line = input.to_string().into_bytes();
        line.push(b'\n');

        let mut out = Vec::new();
        let mut err = Vec::new();
        let waited = tokio::time::timeout(self.timeout, async {
            let feed = async move {
                // A command that does not read its input may exit first: a broken pipe here
                // is not an error, its exit status and output decide.
                let _ = stdin.write_all(&line).await;
                let _ = stdin.shutdown().await;
            };
            let (_, overflow, _) = tokio::join!(
                feed,
                drain(stdout, &mut out, MAX_STDOUT),
                drain(stderr, &mut err, MAX_STDERR)
            );
            (overflow, child.wait().await)
        })
        .await;

        let (overflow, status) = match waited {
            Err(_) => {
                kill(&mut child, &mut group).await;
                return Err(fail(format!(
                    "auth command {shown} did not finish within {} and was killed{}",
                    humantime::format_duration(self.timeout),
                    stderr_part(&err)
                )));
            }
            Ok((_, Err(e))) => {
                kill(&mut child, &mut group).await;
                return Err(fail(format!(
                    "waiting for auth command {shown} failed: {e}"
                )));
            }
            Ok((overflow, Ok(status))) => {
                group.disarm();
                (overflow, status)
            }
        };
        if !status.success() {
            return Err(fail(format!(
                "auth command {shown} {}{}",
                describe_exit(status),
                stderr_part(&err)
            )));
        }
        if overflow {
            return Err(fail(format!(
                "auth command {shown} printed more than {} KiB on stdout; expected the auth JSON",
                MAX_STDOUT / 1024
            )));
        }
        if out.iter().all(u8::is_ascii_whitespace) {
            return Err(fail(format!(
                "auth command {shown} printed nothing on stdout; expected the auth JSON{}",
                stderr_part(&err)
            )));
        }
        Ok(Finished {
            stdout: out,
            stderr: err,
        })
    }
}

/// A successful run's output.
struct Finished {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Finished {
    /// A command that printed bad JSON often said why on stderr.
    fn with_stderr(&self, mut failure: AuthFailure) -> AuthFailure {
        failure.message.push_str(&stderr_part(&self.stderr));
        failure
    }
}

impl fmt::Debug for CommandAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The full line may carry a token; only its program is shown.
        f.debug_struct("CommandAuthorizer")
            .field("command", &self.shown)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(unix)]
fn shell(line: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line).process_group(0);
    pipes(cmd)
}

#[cfg(not(unix))]
fn shell(line: &str) -> Command {
    let mut cmd = Command::new("cmd");
    cmd.arg("/C").arg(line);
    pipes(cmd)
}

fn pipes(mut cmd: Command) -> Command {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Should the future be dropped (the subscription went away), the shell goes too.
        .kill_on_drop(true);
    cmd
}

/// Kills the command and whatever it started, then reaps it.
async fn kill(child: &mut Child, group: &mut GroupKill) {
    group.fire();
    let _ = child.start_kill();
    let _ = tokio::time::timeout(REAP_WAIT, child.wait()).await;
}

/// The process group of a running command (its leader's pid), killed on drop unless
/// disarmed once the leader has exited and been reaped (after which the id may be reused).
struct GroupKill(Option<u32>);

impl GroupKill {
    fn fire(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take() {
            // The child leads its own process group (`process_group(0)`), so killing the
            // group reaches the shell and its children, e.g. a `sleep` it is waiting for.
            // A group already gone (ESRCH) is what was wanted.
            if let Some(pid) = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
        // Elsewhere `kill_on_drop` and `start_kill` reach the direct child only.
        self.0 = None;
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.fire();
    }
}

/// Reads `from` to the end, keeping at most `cap` bytes in `into`; true when more came.
/// Reads chunk by chunk, so a timeout leaves what arrived so far in `into`.
async fn drain(mut from: impl AsyncRead + Unpin, into: &mut Vec<u8>, cap: usize) -> bool {
    let mut chunk = [0u8; 8192];
    let mut overflow = false;
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return overflow,
            Ok(n) => {
                let room = cap - into.len();
                if n > room {
                    overflow = true;
                }
                into.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("failed ({status})")
}

/// `; stderr: <the end of it>`, or nothing when the command wrote nothing there. The end is
/// kept because that is where error messages and tracebacks conclude.
fn stderr_part(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return String::new();
    }
    let count = flat.chars().count();
    if count <= EXCERPT_CHARS {
        return format!("; stderr: {flat}");
    }
    let tail: String = flat.chars().skip(count - EXCERPT_CHARS).collect();
    format!("; stderr: …{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_show_the_program_with_its_arguments_masked() {
        let shown = |line: &str| CommandAuthorizer::new(line, Duration::from_secs(1)).unwrap();
        assert_eq!(shown("./auth.sh").shown(), "`./auth.sh`");
        assert_eq!(
            shown("  my-auth --token s3cr3t ").shown(),
            "`my-auth •••• ••••`"
        );
        assert_eq!(
            shown("/usr/bin/python3 auth.py --key s3cr3t").shown(),
            "`/usr/bin/python3 •••• •••• ••••`"
        );
        assert_eq!(shown("bash -c 'echo s3cr3t'").shown(), "`bash •••• ••••`");
        // A token handed over in the environment is not the program.
        assert_eq!(shown("API_TOKEN=s3cr3t false").shown(), "`•••• false`");
    }

    #[test]
    fn construction_checks() {
        assert_eq!(
            CommandAuthorizer::new("  ", Duration::from_secs(1)).unwrap_err(),
            "the auth command is empty"
        );
        assert!(
            CommandAuthorizer::new("x", Duration::ZERO)
                .unwrap_err()
                .contains("timeout")
        );
        let c = CommandAuthorizer::new("auth --token s3cr3t", Duration::from_secs(1)).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("auth ••••"),
            "{shown}"
        );
    }

    #[test]
    fn stderr_excerpts_keep_the_end() {
        assert_eq!(stderr_part(b""), "");
        assert_eq!(stderr_part(b" \n"), "");
        assert_eq!(stderr_part(b"no\n  access\n"), "; stderr: no access");
        let long = format!("{}END", "x".repeat(500));
        let part = stderr_part(long.as_bytes());
        assert!(
            part.starts_with("; stderr: …x") && part.ends_with("END"),
            "{part}"
        );
        assert_eq!(
            part.chars().count(),
            "; stderr: …".chars().count() + EXCERPT_CHARS
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn malformed_socket_ids_are_not_handed_to_the_command() {
        let dir = std::env::temp_dir().join(format!("chanwatch-sid-{}", std::process::id()));
        let marker = dir.with_extension("ran");
        let c = CommandAuthorizer::new(
            &format!("touch '{}'; echo '{{\"auth\":\"k:s\"}}'", marker.display()),
            Duration::from_secs(5),
        )
        .unwrap();
        let f = c
            .authorize(&AuthRequest {
                channel: "private-a".into(),
                socket_id: "1.2\n{}".into(),
            })
            .await
            .unwrap_err();
        assert!(f.message.contains("socket id"), "{}", f.message);
        let f = c.authenticate_user("").await.unwrap_err();
        assert!(f.message.contains("socket id"), "{}", f.message);
        assert!(!marker.exists(), "the command did not run");
    }

    #[tokio::test]
    async fn drain_caps_but_reads_everything() {
        let data = vec![b'a'; 20_000];
        let mut into = Vec::new();
        assert!(drain(data.as_slice(), &mut into, 100).await);
        assert_eq!(into.len(), 100);
        let mut into = Vec::new();
        assert!(!drain(&b"short"[..], &mut into, 100).await);
        assert_eq!(into, b"short");
    }
}
