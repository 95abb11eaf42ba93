//! The auth inspector (`a`): the latest authorization exchange of each channel, i.e. what
//! was asked (method, URL, form and headers, secrets masked by the authorizer) and what
//! came back, with a hint that names the usual cause of a failure.

use super::{App, NoticeLevel, Overlay, Update, quit};
use crate::protocol::channel::ChannelKind;
use crate::ui::keymap::Action;
use serde_json::Value;
use std::time::SystemTime;

/// Channels whose exchanges are kept; the oldest goes first.
pub const AUTH_CAPACITY: usize = 256;

/// One `auth` record, as the inspector shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthExchange {
    pub ts: SystemTime,
    pub socket_id: String,
    pub request: Value,
    pub ok: bool,
    pub status: Option<u16>,
    pub response: Value,
    pub duration_ms: u64,
}

impl AuthExchange {
    /// `ok (12 ms)`, `failed 403 (12 ms)` or `failed (12 ms)`.
    pub fn summary(&self) -> String {
        let outcome = match (self.ok, self.status) {
            (true, _) => "ok".to_string(),
            (false, Some(s)) => format!("failed {s}"),
            (false, None) => "failed".to_string(),
        };
        format!("{outcome} ({} ms)", self.duration_ms)
    }

    /// The failure's message, as the authorizer worded it.
    pub fn error(&self) -> Option<&str> {
        self.response.get("error").and_then(Value::as_str)
    }
}

/// The inspector overlay: which channel, scrolled how far.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthView {
    pub channel: String,
    pub scroll: usize,
}

/// What to look at when an exchange failed; `None` when it succeeded or nothing specific
/// is known.
pub fn auth_hint(channel: &str, x: &AuthExchange) -> Option<String> {
    if x.ok {
        return None;
    }
    let hint = match x.status {
        Some(401) => {
            "the endpoint wants credentials: send them with auth headers or params \
                      (no browser cookie travels from here)"
        }
        Some(403) => {
            "the endpoint refused: check its logs and middleware (is the user \
                      logged in, and allowed on this channel?)"
        }
        Some(404) => "nothing answers at this URL: check the endpoint's path",
        Some(405) => "wrong method for this URL: ajax sends a POST, jsonp a GET",
        Some(419) => "CSRF token mismatch (Laravel): send X-CSRF-TOKEN or exempt the route",
        Some(422) => "the endpoint rejected the form; it should read socket_id and channel_name",
        Some(s) if s >= 500 => "the endpoint failed: its logs hold the error",
        Some(_) => "the endpoint must answer 200 with {\"auth\":\"key:signature\"}",
        None => {
            let m = x.error().unwrap_or_default();
            if m.contains("channel_data") {
                if ChannelKind::of(channel) == ChannelKind::Presence {
                    "presence channels need channel_data in the answer: a JSON string \
                     holding {\"user_id\":...,\"user_info\":...}"
                } else {
                    "the answer's channel_data is unusable"
                }
            } else if m.contains("shared_secret") {
                "encrypted channels need shared_secret in the answer (from the server \
                 library's encryption master key)"
            } else if m.contains("did not answer within") {
                "the endpoint did not answer in time: is it stuck, or is the URL a \
                 black hole?"
            } else if m.contains("needs authorization") {
                "no authorizer is configured: pass --secret (sign locally) or --auth-endpoint"
            } else if m.contains("auth request to") {
                "the endpoint could not be reached: is it running at that URL?"
            } else if m.contains("not valid JSON") || m.contains("JSONP") {
                "the answer is not the JSON expected; a login or error page is the usual cause"
            } else if m.contains("auth command") {
                "the auth command failed: run it by hand with {\"socket_id\":..,\
                 \"channel_name\":..} on stdin"
            } else {
                return None;
            }
        }
    };
    Some(hint.to_string())
}

impl App {
    pub(super) fn keep_auth(&mut self, channel: String, exchange: AuthExchange) {
        // Newest last, so the oldest is the one to forget.
        self.auth.shift_remove(&channel);
        if self.auth.len() == AUTH_CAPACITY {
            self.auth.shift_remove_index(0);
        }
        self.auth.insert(channel, exchange);
    }

    pub(super) fn open_auth_inspector(&mut self) -> Update {
        let Some(c) = self.selected_channel() else {
            self.notify("select a channel first (Channels pane)", NoticeLevel::Error);
            return Update::redraw();
        };
        let channel = c.name.clone();
        if self.auth.contains_key(&channel) {
            self.overlay = Some(Overlay::Auth(AuthView { channel, scroll: 0 }));
            return Update::redraw();
        }
        let text = if c.kind.needs_auth() {
            format!("no authorization of {channel} seen yet")
        } else {
            format!("{channel} is public: it needs no authorization")
        };
        self.notify(text, NoticeLevel::Info);
        Update::redraw()
    }

    pub(super) fn on_auth_view_action(&mut self, action: Action) -> Update {
        let page = self.size.height.saturating_sub(6).max(1) as usize;
        let Some(Overlay::Auth(v)) = self.overlay.as_mut() else {
            return Update::default();
        };
        if super::scroll_by(&mut v.scroll, action, page) {
            return Update::redraw();
        }
        match action {
            Action::Quit => return quit(),
            Action::Back | Action::Open | Action::InspectAuth => self.overlay = None,
            Action::Help => self.help = true,
            _ => return Update::default(),
        }
        Update::redraw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed(status: Option<u16>, error: &str) -> AuthExchange {
        AuthExchange {
            ts: SystemTime::UNIX_EPOCH,
            socket_id: "1.2".into(),
            request: json!({}),
            ok: false,
            status,
            response: json!({ "error": error }),
            duration_ms: 12,
        }
    }

    #[test]
    fn hints_name_the_usual_cause() {
        let h = |ch: &str, x: &AuthExchange| auth_hint(ch, x).unwrap_or_default();
        assert!(h("private-a", &failed(Some(403), "x")).contains("refused"));
        assert!(h("private-a", &failed(Some(503), "x")).contains("logs"));
        assert!(
            h(
                "presence-a",
                &failed(None, "presence authorization has no channel_data: ...")
            )
            .contains("presence channels need channel_data")
        );
        assert!(
            h(
                "private-encrypted-a",
                &failed(None, "No shared_secret key in auth payload")
            )
            .contains("shared_secret")
        );
        assert!(
            h(
                "private-a",
                &failed(None, "auth endpoint did not answer within 10s")
            )
            .contains("in time")
        );
        assert_eq!(auth_hint("private-a", &failed(None, "something new")), None);
        let mut ok = failed(None, "");
        ok.ok = true;
        assert_eq!(auth_hint("private-a", &ok), None);
        assert_eq!(ok.summary(), "ok (12 ms)");
        assert_eq!(failed(Some(403), "").summary(), "failed 403 (12 ms)");
    }
}
