//! The real binary's configuration: `--print-config` shows the merged result with secrets
//! masked, and configuration errors exit with code 2 and say what to fix. Each run has its
//! own home and config directories and none of the caller's PUSHER_* or CHANWATCH_*
//! variables; every run is bounded.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_chanwatch");
const BOUND: Duration = Duration::from_secs(60);

/// A home directory with an (empty) platform config directory.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Where chanwatch looks for its config file when nothing names one.
    fn default_config(&self) -> PathBuf {
        self.dir.path().join("xdg/chanwatch/config.toml")
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        self.write(&path, text);
        path
    }

    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars() {
            if name.starts_with("PUSHER_") || name.starts_with("CHANWATCH_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output: Output = tokio::time::timeout(BOUND, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("chanwatch {args:?} did not exit within {BOUND:?}"))
            .expect("run chanwatch");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

#[tokio::test]
async fn print_config_shows_merged_values_with_secrets_masked() {
    let home = Home::new();
    let secret = "file-secret-0123456789";
    home.write(
        &home.default_config(),
        &format!(
            r#"
default_profile = "local"
key = "filekey"
secret = "{secret}"
activity_timeout = "45s"
[profiles.local]
host = "127.0.0.1"
ws_port = 6001
tls = false
[profiles.local.auth]
endpoint = "http://127.0.0.1:9000/auth"
headers = {{ Authorization = "Bearer header-token-42" }}
"#
        ),
    );
    let run = home
        .run(
            &["--print-config", "--ws-port", "7001", "-s", "news"],
            &[("PUSHER_APP_ID", "77"), ("PUSHER_APP_KEY", "envkey")],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    // Where it came from, then each layer's value: file base, profile, env, flags.
    assert!(
        out.contains("config.toml") && out.contains("profile: local"),
        "{out}"
    );
    for line in [
        "key = \"envkey\"",
        "app_id = \"77\"",
        "host = \"127.0.0.1\"",
        "ws_port = 7001",
        "tls = false",
        "activity_timeout = \"45s\"",
        "subscribe = [\"news\"]",
    ] {
        assert!(out.contains(line), "missing {line} in\n{out}");
    }
    for hidden in [secret, "header-token-42"] {
        assert!(!out.contains(hidden), "{hidden} shown in\n{out}");
    }
    assert!(out.contains("secret = \"••••89\""), "{out}");
    // The output is a config file itself: it parses back.
    let back = home.file("printed.toml", out);
    let again = home
        .run(&["--print-config", "--config", back.to_str().unwrap()], &[])
        .await;
    assert_eq!(again.code, Some(0), "{again:?}");
    // ...to the same values: sizes and durations are printed exactly.
    for key in ["log_bytes = ", "log_ring = ", "activity_timeout = "] {
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .map(str::to_string)
        };
        assert!(line(out).is_some(), "no {key} in\n{out}");
        assert_eq!(line(out), line(&again.stdout), "{key}");
    }
}

#[tokio::test]
async fn handshake_headers_and_ca_file_are_shown_with_credentials_masked() {
    let home = Home::new();
    home.write(
        &home.default_config(),
        r#"
key = "k"
host = "127.0.0.1"
origin = "https://file.example.com"
ca_file = "/etc/chanwatch/ca.pem"
ws_headers = { Authorization = "Bearer file-token-0042", X-Tenant = "blue" }
"#,
    );
    let run = home
        .run(
            &[
                "--print-config",
                "--origin",
                "https://app.example.com/some/path",
                "--ws-header",
                "Cookie: session=cookie-value-77",
                "--ws-header",
                "X-Proxy-Auth: proxy-pass-99",
                // A header, even one named like a protocol param, follows the header rule.
                "--ws-header",
                "socket_id: ws-secret-value-55",
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    for line in [
        "origin = \"https://app.example.com\"",
        "ca_file = \"/etc/chanwatch/ca.pem\"",
        "X-Tenant = \"••••\"",
        "Authorization = \"••••42\"",
    ] {
        assert!(out.contains(line), "missing {line} in\n{out}");
    }
    for hidden in [
        "file-token-0042",
        "cookie-value-77",
        "proxy-pass-99",
        "ws-secret-value-55",
    ] {
        assert!(!out.contains(hidden), "{hidden} shown in\n{out}");
    }
    // Origin has its own flag; the upgrade's own headers are not ours to replace.
    for (header, says) in [
        ("Origin: https://a.example", "--origin"),
        ("Upgrade: h2c", "set by chanwatch"),
    ] {
        let bad = home
            .run(
                &[
                    "--print-config",
                    "--key",
                    "k",
                    "--host",
                    "h",
                    "--ws-header",
                    header,
                ],
                &[],
            )
            .await;
        assert_eq!(bad.code, Some(2), "{bad:?}");
        assert!(
            bad.stderr.contains("--ws-header") && bad.stderr.contains(says),
            "{bad:?}"
        );
    }
    let bad = home
        .run(
            &[
                "--print-config",
                "--key",
                "k",
                "--host",
                "h",
                "--origin",
                "not an origin",
            ],
            &[],
        )
        .await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("--origin"), "{bad:?}");
}

#[tokio::test]
async fn config_init_writes_a_starter_where_it_is_read_and_never_overwrites() {
    let home = Home::new();
    let expected = home.default_config();
    let path = home.run(&["config", "path"], &[]).await;
    assert_eq!(path.code, Some(0), "{path:?}");
    assert_eq!(path.stdout.trim(), expected.to_str().unwrap());
    assert!(path.stderr.contains("chanwatch config init"), "{path:?}");

    let init = home.run(&["config", "init"], &[]).await;
    assert_eq!(init.code, Some(0), "{init:?}");
    assert_eq!(init.stdout.trim(), expected.to_str().unwrap());
    let written = std::fs::read_to_string(&expected).unwrap();
    assert!(written.contains("# key = "), "{written}");

    // It is the file chanwatch reads: a key given on top of it resolves.
    let read = home
        .run(&["--print-config", "--key", "k", "--host", "h"], &[])
        .await;
    assert_eq!(read.code, Some(0), "{read:?}");
    assert!(read.stdout.contains("config.toml"), "{read:?}");

    std::fs::write(&expected, "key = \"mine\"\n").unwrap();
    let again = home.run(&["config", "init"], &[]).await;
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("already exists"), "{again:?}");
    assert_eq!(
        std::fs::read_to_string(&expected).unwrap(),
        "key = \"mine\"\n"
    );

    // --config names another file, and --profile puts the keys in that profile.
    let other = home.dir.path().join("elsewhere/work.toml");
    let other_arg = other.to_str().unwrap();
    let init = home
        .run(
            &["config", "init", "--profile", "work", "--config", other_arg],
            &[],
        )
        .await;
    assert_eq!(init.code, Some(0), "{init:?}");
    assert_eq!(init.stdout.trim(), other_arg);
    let read = home
        .run(
            &[
                "--print-config",
                "--config",
                other_arg,
                "--key",
                "k",
                "--host",
                "h",
            ],
            &[],
        )
        .await;
    assert_eq!(read.code, Some(0), "{read:?}");
    assert!(read.stdout.contains("profile: work"), "{read:?}");
    let path = home
        .run(&["config", "path"], &[("CHANWATCH_CONFIG", other_arg)])
        .await;
    assert_eq!(path.stdout.trim(), other_arg, "{path:?}");
}

#[tokio::test]
async fn config_init_refuses_a_profile_name_it_could_not_read_back() {
    let home = Home::new();
    for name in ["a\"b", "two\nlines", "my profile", "a]b", ""] {
        let out = home.run(&["config", "init", "--profile", name], &[]).await;
        assert_eq!(out.code, Some(2), "{name:?}: {out:?}");
        assert!(out.stderr.contains("--profile"), "{name:?}: {out:?}");
        assert!(!home.default_config().exists(), "{name:?}: nothing written");
    }
    // A name of the documented alphabet is written, read back and selected.
    let name = "Prod-eu_2.v1";
    let init = home.run(&["config", "init", "--profile", name], &[]).await;
    assert_eq!(init.code, Some(0), "{init:?}");
    let read = home
        .run(&["--print-config", "--key", "k", "--host", "h"], &[])
        .await;
    assert_eq!(read.code, Some(0), "{read:?}");
    assert!(
        read.stdout.contains(&format!("profile: {name}")),
        "{read:?}"
    );
}

#[tokio::test]
async fn print_config_from_flags_alone() {
    let home = Home::new();
    let run = home
        .run(
            &[
                "--print-config",
                "--url",
                "pusher://urlkey:url-secret-value@127.0.0.1:6001/apps/app1",
                "--signin",
                "--user-data",
                r#"{"id":"alice"}"#,
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("file: none"), "{}", run.stdout);
    assert!(run.stdout.contains("key = \"urlkey\""), "{}", run.stdout);
    assert!(run.stdout.contains("enabled = true"), "{}", run.stdout);
    assert!(!run.stdout.contains("url-secret-value"), "{}", run.stdout);
}

#[tokio::test]
async fn unknown_key_in_the_file_exits_2_with_file_and_line() {
    let home = Home::new();
    let path = home.file(
        "bad.toml",
        "key = \"k\"\nhost = \"127.0.0.1\"\n\n[profiles.x]\nactivty_timeout = \"1s\"\n",
    );
    let run = home
        .run(&["--config", path.to_str().unwrap(), "--headless"], &[])
        .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("bad.toml:5"), "{}", run.stderr);
    assert!(run.stderr.contains("activty_timeout"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[tokio::test]
async fn unknown_profile_lists_the_profiles() {
    let home = Home::new();
    let path = home.file(
        "profiles.toml",
        "key = \"k\"\n[profiles.staging]\nhost = \"s\"\n[profiles.local]\nhost = \"l\"\n",
    );
    for args in [
        vec![
            "--config",
            path.to_str().unwrap(),
            "--profile",
            "nope",
            "--headless",
        ],
        vec![
            "--config",
            path.to_str().unwrap(),
            "--print-config",
            "--profile",
            "nope",
        ],
    ] {
        let run = home.run(&args, &[]).await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains("\"nope\""), "{}", run.stderr);
        assert!(run.stderr.contains("local, staging"), "{}", run.stderr);
    }
    // The profile can also come from CHANWATCH_PROFILE, and the file from CHANWATCH_CONFIG.
    let run = home
        .run(
            &["--print-config"],
            &[
                ("CHANWATCH_CONFIG", path.to_str().unwrap()),
                ("CHANWATCH_PROFILE", "staging"),
            ],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("host = \"s\""), "{}", run.stdout);
}

#[tokio::test]
async fn missing_key_names_the_flag_the_variable_and_the_key() {
    let home = Home::new();
    let run = home.run(&["--host", "127.0.0.1", "--headless"], &[]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    for name in ["--key", "PUSHER_APP_KEY", "key"] {
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
    }
    // A first run with nothing at all points at the ways to start.
    let first = home.run(&["--headless"], &[]).await;
    assert_eq!(first.code, Some(2), "{first:?}");
    for way in ["chanwatch demo", "chanwatch config init"] {
        assert!(first.stderr.contains(way), "{way}: {}", first.stderr);
    }
}

#[tokio::test]
async fn bad_values_exit_2_from_every_source() {
    let home = Home::new();
    // A flag: clap's error names the flag.
    let run = home.run(&["--ws-port", "70000", "--headless"], &[]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--ws-port"), "{}", run.stderr);
    // A variable: the message names it.
    let run = home
        .run(
            &["--key", "k", "--host", "h", "--headless"],
            &[("PUSHER_PORT", "http")],
        )
        .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("PUSHER_PORT"), "{}", run.stderr);
    // A value no source checks alone: the master key, never quoted back.
    let run = home
        .run(
            &[
                "--key",
                "k",
                "--host",
                "h",
                "--secret",
                "s",
                "--encryption-master-key",
                "dG9vLXNob3J0",
                "--headless",
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("--encryption-master-key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("dG9vLXNob3J0"), "{}", run.stderr);
}

#[tokio::test]
async fn keys_and_theme_merge_per_action_and_role_and_print() {
    let home = Home::new();
    let cfg = home.file(
        "keys.toml",
        "key = \"k\"\nhost = \"h\"\n\
         [keys]\nquit = [\"z\", \"ctrl-c\"]\nhelp = \"f1\"\n\
         [theme]\nerror = \"#ff5555\"\nselected_bg = \"blue\"\n\
         [profiles.p.keys]\nhelp = \"H\"\n\
         [profiles.p.theme]\nerror = \"light-red\"\n",
    );
    let cfg = cfg.to_str().unwrap();
    let run = home
        .run(&["--print-config", "--config", cfg, "--profile", "p"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for line in [
        "[keys]",
        "quit = [\"z\", \"ctrl-c\"]",
        "help = \"H\"",
        "[theme]",
        "error = \"LightRed\"",
        "selected_bg = \"Blue\"",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line} in\n{}",
            run.stdout
        );
    }
}

/// Every mistake in [keys] and [theme] reads like the other config errors: the file and
/// line, the key and its table, and exit code 2; the demo reads the same tables.
#[tokio::test]
async fn bad_keys_and_colours_exit_2_with_file_line_and_key() {
    let home = Home::new();
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "[keys]\nquit = \"e\"\nquiet = \"z\"\n",
            ":3:",
            &["unknown action \"quiet\"", "did you mean \"quit\"?"],
        ),
        (
            "[keys]\n\nsubscribe = \"hyper-s\"\n",
            ":3:",
            &["\"subscribe\" in [keys]", "\"hyper-s\" is not a key name"],
        ),
        (
            "[keys]\nclear_log = \"q\"\n",
            ":2:",
            &[
                "\"clear_log\" in [keys]",
                "\"q\" is by default the key of \"quit\" on the dashboard",
            ],
        ),
        (
            "[keys]\nhelp = \"z\"\n\n[profiles.p.keys]\nclear_log = \"z\"\n",
            ":5:",
            &[
                "\"clear_log\" in [profiles.p.keys]",
                "\"z\" is also given to \"help\" on the dashboard",
            ],
        ),
        (
            "[keys]\nsubmit = \"y\"\n",
            ":2:",
            &["\"submit\" in [keys]", "\"y\" is text in a prompt"],
        ),
        (
            "[theme]\nok = \"green\"\nerror = \"#ff55\"\n",
            ":3:",
            &["\"error\" in [theme]", "\"#ff55\" is not a colour"],
        ),
        (
            "[profiles.p.theme]\nselected = \"blue\"\n",
            ":2:",
            &["unknown colour role \"selected\"", "selected_bg"],
        ),
    ];
    for (text, line, says) in cases {
        let cfg = home.file(
            "bad-keys.toml",
            &format!("key = \"k\"\nhost = \"h\"\n{text}"),
        );
        // Two header lines come first.
        let line_no: usize = line.trim_matches(':').parse().unwrap();
        let at = format!("bad-keys.toml:{}:", line_no + 2);
        let cfg = cfg.to_str().unwrap();
        for args in [
            vec!["--print-config", "--config", cfg],
            vec!["--config", cfg, "demo"],
        ] {
            let run = home.run(&args, &[]).await;
            assert_eq!(run.code, Some(2), "{text}\n{run:?}");
            assert!(
                run.stderr.contains(&at),
                "{text}: want {at}\n{}",
                run.stderr
            );
            for s in says {
                assert!(run.stderr.contains(s), "{text}: want {s}\n{}", run.stderr);
            }
        }
    }
}

/// Every file read as configuration or a secret is read with a cap: a path like /dev/zero
/// is a usage error naming the option and the cap, not a read until memory runs out.
#[tokio::test]
async fn every_file_option_refuses_an_endless_file_with_its_cap() {
    let home = Home::new();
    let base = ["--headless", "--host", "127.0.0.1", "--key", "k"];
    for (flag, cap) in [
        ("--config", "4 MiB"),
        ("--ca-file", "8 MiB"),
        ("--secret-file", "1 MiB"),
        ("--encryption-master-key-file", "1 MiB"),
        ("--auth-header-file", "1 MiB"),
        ("--user-auth-header-file", "1 MiB"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, "/dev/zero"]);
        let out = home.run(&args, &[]).await;
        assert_eq!(out.code, Some(2), "{flag}: {out:?}");
        let named = if flag == "--config" {
            "config file /dev/zero"
        } else {
            flag
        };
        assert!(
            out.stderr.contains(named) && out.stderr.contains(&format!("larger than {cap}")),
            "{flag}: {out:?}"
        );
        assert_eq!(
            out.stderr.matches("larger than").count(),
            1,
            "said once: {out:?}"
        );
    }
    // A missing config file too says why once.
    let out = home
        .run(
            &["--headless", "--config", "/nonexistent/chanwatch.toml"],
            &[],
        )
        .await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        out.stderr.matches("os error 2").count(),
        1,
        "said once: {out:?}"
    );
}

#[tokio::test]
async fn nodes_from_a_profile_print_and_bad_nodes_exit_2_saying_what_is_wrong() {
    let home = Home::new();
    let path = home.file(
        "nodes.toml",
        "key = \"k\"\n\n[profiles.prod]\nghost_after = \"8s\"\n\n[profiles.prod.nodes]\n\
         a = \"ws://10.0.0.1:6001\"\nb = \"wss://ws-b.example.com,https://api-b.example.com:8443\"\n",
    );
    let config = path.to_str().unwrap();
    let run = home
        .run(
            &["--config", config, "--profile", "prod", "--print-config"],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .contains("a = \"ws://10.0.0.1:6001,http://10.0.0.1:6001\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("b = \"wss://ws-b.example.com:443,https://api-b.example.com:8443\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ghost_after = \"8s\""),
        "{}",
        run.stdout
    );

    // The flags' nodes replace the file's.
    let run = home
        .run(
            &[
                "--config",
                config,
                "--profile",
                "prod",
                "--node",
                "x=ws://127.0.0.1:1",
                "--print-config",
            ],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("x = \"ws://127.0.0.1:1"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("10.0.0.1"), "{}", run.stdout);

    for (args, words) in [
        (
            vec![
                "--key",
                "k",
                "--node",
                "a=ws://h:1",
                "--node",
                "a=ws://h:2",
                "--headless",
            ],
            "node name \"a\" is given twice",
        ),
        (
            vec!["--key", "k", "--node", "a=http://h:1", "--headless"],
            "use ws:// or wss://",
        ),
        (
            vec!["--key", "k", "--node", "ws://h:1", "--headless"],
            "expected NAME=URL",
        ),
        (
            vec![
                "--key",
                "k",
                "--node",
                "a=ws://user:pw-secret@h:1",
                "--headless",
            ],
            "no user info",
        ),
    ] {
        let run = home.run(&args, &[]).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("pw-secret"), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let bad = home.file(
        "bad-nodes.toml",
        "key = \"k\"\n[nodes]\na = \"http://h:1\"\n",
    );
    let run = home
        .run(&["--config", bad.to_str().unwrap(), "--headless"], &[])
        .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("bad-nodes.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("node a"), "{}", run.stderr);
}
