//! The HTTP API flows: publish a server event (`T`: channel, event, data, exclude-self
//! prompts), pick an occupied channel (`L`: an optional prefix, then a list to subscribe
//! from) and a presence channel's users (`U`, compared with the live member list).
//!
//! A list answer opens the picker only when it answers a request made here (same prefix,
//! within [`crate::ui::model::LIST_WAIT`]); any other answer stays a timeline note.

use super::{App, Modal, NoticeLevel, Overlay, Prompt, PromptKind, Update, quit};
use crate::prefs::keymap::Action;
use crate::session::Command;
use crate::ui::model::ChannelStatus;
use chanwatch_core::protocol::channel::{ChannelKind, MAX_EVENT_NAME, validate_channel_name};
use serde_json::Value;

/// The most channels the picker lists; the rest of a larger answer is counted ("+N more").
pub const MAX_PICK: usize = 10_000;

/// The occupied channels of one `L` answer, to subscribe to one.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPicker {
    pub prefix: Option<String>,
    pub items: Vec<PickItem>,
    pub selected: usize,
    /// Channels in the answer past `MAX_PICK`, not listed.
    pub more: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PickItem {
    pub name: String,
    /// The API's attributes in one line, e.g. `user_count 3`; empty when there are none.
    pub attrs: String,
}

impl ChannelPicker {
    /// The picker for an answer `{"<name>": {attributes}}`, names sorted.
    pub fn from_answer(prefix: Option<String>, channels: &Value) -> Result<ChannelPicker, String> {
        let Some(obj) = channels.as_object() else {
            return Err(format!(
                "the channel list is not an object of channels: {}",
                crate::ui::format::one_line(&channels.to_string(), 60)
            ));
        };
        let mut items: Vec<PickItem> = obj
            .iter()
            .map(|(name, attrs)| PickItem {
                name: name.clone(),
                attrs: attrs_line(attrs),
            })
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        let more = items.len().saturating_sub(MAX_PICK);
        items.truncate(MAX_PICK);
        Ok(ChannelPicker {
            prefix,
            items,
            selected: 0,
            more,
        })
    }

    pub fn move_by(&mut self, delta: isize) {
        let max = self.items.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(max);
    }

    pub fn selected_item(&self) -> Option<&PickItem> {
        self.items.get(self.selected)
    }
}

fn attrs_line(attrs: &Value) -> String {
    match attrs {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k} {s}"),
                other => format!("{k} {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl App {
    // ----- publish -----

    pub(super) fn start_publish(&mut self) -> Update {
        let channel = self
            .selected_channel()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        self.show(Modal::Prompt(Prompt::new(
            PromptKind::PublishChannel,
            &channel,
        )));
        Update::redraw()
    }

    /// One publish step: validate the answer, then open the next prompt or send.
    pub(super) fn submit_publish_step(
        &mut self,
        kind: &PromptKind,
        value: &str,
    ) -> Result<Update, String> {
        let next = match kind {
            PromptKind::PublishChannel => {
                validate_channel_name(value).map_err(|e| e.to_string())?;
                (
                    PromptKind::PublishEvent {
                        channel: value.to_string(),
                    },
                    String::new(),
                )
            }
            PromptKind::PublishEvent { channel } => {
                validate_event_name(value)?;
                (
                    PromptKind::PublishData {
                        channel: channel.clone(),
                        event: value.to_string(),
                    },
                    String::new(),
                )
            }
            PromptKind::PublishData { channel, event } => (
                PromptKind::PublishExclude {
                    channel: channel.clone(),
                    event: event.clone(),
                    data: parse_publish_data(value)?,
                },
                "n".to_string(),
            ),
            PromptKind::PublishExclude {
                channel,
                event,
                data,
            } => {
                let exclude_self = parse_yes_no(value)?;
                self.notify(
                    format!("publishing {event} to {channel}…"),
                    NoticeLevel::Info,
                );
                return Ok(Update::command(Command::Publish {
                    channel: channel.clone(),
                    event: event.clone(),
                    data: data.clone(),
                    exclude_self,
                }));
            }
            _ => return Err("not a publish step".into()),
        };
        self.show(Modal::Prompt(Prompt::new(next.0, &next.1)));
        Ok(Update::redraw())
    }

    // ----- channel picker -----

    pub(super) fn start_list_channels(&mut self) -> Update {
        self.show(Modal::Prompt(Prompt::new(PromptKind::ListPrefix, "")));
        Update::redraw()
    }

    pub(super) fn submit_list_prefix(&mut self, value: &str) -> Result<Update, String> {
        let prefix = if value.is_empty() {
            None
        } else {
            validate_channel_name(value).map_err(|e| e.message_for("prefix"))?;
            Some(value.to_string())
        };
        self.model.await_channel_list(prefix.clone(), self.now);
        self.notify(
            "asking the HTTP API for occupied channels…",
            NoticeLevel::Info,
        );
        Ok(Update::command(Command::ListChannels { prefix }))
    }

    /// The answer to the user's channel list: the picker, or a notice saying why not.
    pub(super) fn open_channel_list(&mut self, prefix: Option<String>, channels: &Value) {
        let text = match &prefix {
            Some(pre) => format!("no occupied channels start with {pre}"),
            None => "no occupied channels".to_string(),
        };
        match ChannelPicker::from_answer(prefix, channels) {
            Ok(p) if p.items.is_empty() => self.notify(text, NoticeLevel::Info),
            Ok(p) => {
                self.notice = None;
                self.show(Modal::Overlay(Overlay::Picker(p)));
            }
            Err(e) => self.notify(e, NoticeLevel::Error),
        }
    }

    pub(super) fn on_picker_action(&mut self, action: Action) -> Update {
        let page = self.size.height.saturating_sub(8).max(1) as isize;
        let Some(Overlay::Picker(p)) = self.overlay_mut() else {
            return Update::default();
        };
        match action {
            Action::Quit => return quit(),
            Action::Back => self.close_overlay(),
            Action::Help => self.show(Modal::Help),
            Action::Up => p.move_by(-1),
            Action::Down => p.move_by(1),
            Action::PageUp => p.move_by(-page),
            Action::PageDown => p.move_by(page),
            Action::Top => p.selected = 0,
            Action::Bottom => p.move_by(isize::MAX),
            Action::Open => {
                let Some(name) = p.selected_item().map(|i| i.name.clone()) else {
                    return Update::default();
                };
                // The API also lists channels no client may subscribe to, such as a
                // signed-in user's #server-to-user-ID.
                if let Err(e) = validate_channel_name(&name) {
                    self.notify(format!("cannot subscribe: {e}"), NoticeLevel::Error);
                    return Update::redraw();
                }
                self.close_overlay();
                let channels = self.model.channels();
                if let Some(i) = channels.get_index_of(&name)
                    && matches!(
                        channels[i].status,
                        ChannelStatus::Subscribed | ChannelStatus::Pending
                    )
                {
                    self.channel_sel = i;
                    self.members_scroll = 0;
                    self.notify(format!("already subscribed to {name}"), NoticeLevel::Info);
                    return Update::redraw();
                }
                return self.subscribe_to(name);
            }
            _ => return Update::default(),
        }
        Update::redraw()
    }

    // ----- presence users -----

    pub(super) fn list_users(&mut self) -> Update {
        let key = self.keymap.first_key(Action::ListUsers).unwrap_or_default();
        let Some(c) = self.selected_channel() else {
            self.notify(
                format!("select a presence channel first, then press {key}"),
                NoticeLevel::Error,
            );
            return Update::redraw();
        };
        if c.kind != ChannelKind::Presence {
            let text = format!(
                "the HTTP API lists users of presence channels only; {} is {}",
                c.name,
                c.kind.label()
            );
            self.notify(text, NoticeLevel::Error);
            return Update::redraw();
        }
        let channel = c.name.clone();
        self.model.await_users(&channel, self.now);
        self.notify(
            format!("asking the HTTP API for the users of {channel}…"),
            NoticeLevel::Info,
        );
        Update::command(Command::ListUsers { channel })
    }
}

/// An event name for the HTTP API: not empty, at most [`MAX_EVENT_NAME`] characters.
pub fn validate_event_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("event name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_EVENT_NAME {
        return Err(format!(
            "event name is {n} characters long; the limit is {MAX_EVENT_NAME}"
        ));
    }
    Ok(())
}

/// Publish data: JSON when it reads as JSON, else the text as a JSON string. Text that
/// starts like an object, array or string must parse, so a typo is caught rather than sent
/// as a string. Empty means `{}`.
pub fn parse_publish_data(text: &str) -> Result<Value, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(serde_json::json!({}));
    }
    match serde_json::from_str::<Value>(t) {
        Ok(v) => Ok(v),
        Err(e) if t.starts_with(['{', '[', '"']) => Err(format!("not valid JSON: {e}")),
        Err(_) => Ok(Value::String(t.to_string())),
    }
}

/// y/yes or n/no (any case); empty means no.
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "" | "n" | "no" => Ok(false),
        other => Err(format!("answer y or n, not {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn publish_answers() {
        assert_eq!(parse_publish_data(""), Ok(json!({})));
        assert_eq!(parse_publish_data(r#"{"a":1}"#), Ok(json!({"a":1})));
        assert_eq!(parse_publish_data("42"), Ok(json!(42)));
        assert_eq!(parse_publish_data("hello world"), Ok(json!("hello world")));
        assert_eq!(parse_publish_data(r#""quoted""#), Ok(json!("quoted")));
        assert!(
            parse_publish_data(r#"{"a":"#)
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(parse_publish_data("[1,").is_err());
        assert_eq!(parse_yes_no("Y"), Ok(true));
        assert_eq!(parse_yes_no("no"), Ok(false));
        assert_eq!(parse_yes_no(""), Ok(false));
        assert!(parse_yes_no("maybe").is_err());
        assert!(validate_event_name("").is_err());
        assert!(validate_event_name(&"e".repeat(200)).is_ok());
        assert!(
            validate_event_name(&"é".repeat(201))
                .unwrap_err()
                .contains("201")
        );
    }

    #[test]
    fn picker_from_answer() {
        let p = ChannelPicker::from_answer(
            None,
            &json!({"b": {}, "a": {"user_count": 3}, "c": {"subscription_count": 2}}),
        )
        .unwrap();
        let names: Vec<&str> = p.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(p.items[0].attrs, "user_count 3");
        assert_eq!(p.items[1].attrs, "");
        let mut p = p;
        p.move_by(10);
        assert_eq!(p.selected, 2);
        p.move_by(-1);
        assert_eq!(p.selected_item().unwrap().name, "b");
        assert!(ChannelPicker::from_answer(None, &json!([1])).is_err());
    }

    #[test]
    fn a_huge_channel_list_is_capped_and_counted() {
        let n = MAX_PICK + 2_500;
        let answer: serde_json::Map<String, Value> =
            (0..n).map(|i| (format!("c-{i:06}"), json!({}))).collect();
        let p = ChannelPicker::from_answer(None, &Value::Object(answer)).unwrap();
        assert_eq!((p.items.len(), p.more), (MAX_PICK, 2_500));
        assert_eq!(p.items[0].name, "c-000000");
    }
}
