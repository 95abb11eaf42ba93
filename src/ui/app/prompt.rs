//! The one-line prompts: what each asks (subscribe, trigger, filter, publish, fault delay,
//! list prefix, export path), the keys while one is open, and what submitting it does.

use super::export::ExportKind;
use super::{App, Modal, NoticeLevel, Update, quit};
use crate::prefs::keymap::{Action, Mode};
use crate::ui::model::ChannelStatus;
use chanwatch_core::connection;
use chanwatch_core::protocol::channel::{validate_channel_name, validate_client_event_name};
use crossterm::event::{Event, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

#[derive(Debug, Clone, PartialEq)]
pub enum PromptKind {
    Subscribe,
    TriggerEvent {
        channel: String,
    },
    TriggerData {
        channel: String,
        event: String,
    },
    /// The filter being edited; `previous` is restored on Esc.
    Filter {
        previous: String,
    },
    /// The fault menu's delay, in milliseconds.
    FaultDelay,
    /// Publish, step 1 of 4: the channel.
    PublishChannel,
    /// Publish, step 2: the event name.
    PublishEvent {
        channel: String,
    },
    /// Publish, step 3: the data.
    PublishData {
        channel: String,
        event: String,
    },
    /// Publish, step 4: leave this connection out of the delivery?
    PublishExclude {
        channel: String,
        event: String,
        data: serde_json::Value,
    },
    /// The optional name prefix for listing occupied channels.
    ListPrefix,
    /// Where to write the log or the timeline.
    Export(ExportKind),
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: Input,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl PromptKind {
    pub(super) fn is_publish(&self) -> bool {
        matches!(
            self,
            PromptKind::PublishChannel
                | PromptKind::PublishEvent { .. }
                | PromptKind::PublishData { .. }
                | PromptKind::PublishExclude { .. }
        )
    }
}

impl Prompt {
    pub(super) fn new(kind: PromptKind, initial: &str) -> Prompt {
        Prompt {
            kind,
            input: Input::new(initial.to_string()),
            error: None,
        }
    }

    pub fn label(&self) -> String {
        match &self.kind {
            PromptKind::Subscribe => "Subscribe to channel".into(),
            PromptKind::TriggerEvent { channel } => format!("Client event name on {channel}"),
            PromptKind::TriggerData { event, .. } => format!("JSON data for {event}"),
            PromptKind::Filter { .. } => "Filter".into(),
            PromptKind::FaultDelay => "Fault: delay every chunk by (ms)".into(),
            PromptKind::PublishChannel => "Publish (HTTP API) to channel".into(),
            PromptKind::PublishEvent { channel } => format!("Event name to publish on {channel}"),
            PromptKind::PublishData { event, .. } => format!("Data for {event}"),
            PromptKind::PublishExclude { .. } => "Exclude this connection? (y/n)".into(),
            PromptKind::ListPrefix => "List occupied channels (HTTP API)".into(),
            PromptKind::Export(kind) => kind.label().into(),
        }
    }

    pub fn hint(&self) -> &'static str {
        match &self.kind {
            PromptKind::Subscribe => "e.g. my-channel, private-x, presence-room",
            PromptKind::TriggerEvent { .. } => "must start with client-",
            PromptKind::TriggerData { .. } => "any JSON value; empty means {}",
            PromptKind::Filter { .. } => "words; channel:NAME event:NAME",
            PromptKind::FaultDelay => "1 to 60000; empty means 500",
            PromptKind::PublishChannel => "any channel name, subscribed or not",
            PromptKind::PublishEvent { .. } => "1 to 200 characters",
            PromptKind::PublishData { .. } => {
                "JSON, or plain text sent as a string; empty means {}"
            }
            PromptKind::PublishExclude { .. } => {
                "y leaves this socket out (socket_id); n or empty: no"
            }
            PromptKind::ListPrefix => "name prefix, e.g. presence-; empty lists all",
            PromptKind::Export(_) => "a file path; Enter writes it",
        }
    }
}

impl App {
    pub(super) fn on_prompt_key(&mut self, key: KeyEvent) -> Update {
        match self.keymap.action_for(Mode::Editing, &key) {
            Some(Action::Quit) => quit(),
            Some(Action::Submit) => self.submit_prompt(),
            Some(Action::Cancel) => {
                match self.take_prompt() {
                    Some(Prompt {
                        kind: PromptKind::Filter { previous },
                        ..
                    }) => self.set_filter(&previous),
                    Some(Prompt {
                        kind: PromptKind::ListPrefix,
                        ..
                    }) => self.notify("listing channels cancelled", NoticeLevel::Info),
                    Some(Prompt { kind, .. }) if kind.is_publish() => {
                        self.notify("nothing published", NoticeLevel::Info)
                    }
                    _ => {}
                }
                Update::redraw()
            }
            _ => {
                let Some(p) = self.prompt_mut() else {
                    return Update::default();
                };
                if p.input.handle_event(&Event::Key(key)).is_none() {
                    return Update::default();
                }
                p.error = None;
                if matches!(p.kind, PromptKind::Filter { .. }) {
                    let text = p.input.value().to_string();
                    self.set_filter(&text);
                }
                Update::redraw()
            }
        }
    }

    fn submit_prompt(&mut self) -> Update {
        let Some(mut p) = self.take_prompt() else {
            return Update::default();
        };
        let value = p.input.value().trim().to_string();
        let result = match &p.kind {
            PromptKind::Subscribe => match validate_channel_name(&value) {
                Ok(()) => Ok(self.subscribe_to(value)),
                Err(e) => Err(e.to_string()),
            },
            PromptKind::FaultDelay => self.submit_fault_delay(&value),
            PromptKind::PublishChannel
            | PromptKind::PublishEvent { .. }
            | PromptKind::PublishData { .. }
            | PromptKind::PublishExclude { .. } => self.submit_publish_step(&p.kind, &value),
            PromptKind::ListPrefix => self.submit_list_prefix(&value),
            PromptKind::Export(kind) => self.submit_export(*kind, &value),
            PromptKind::TriggerEvent { channel } => match validate_client_event_name(&value) {
                Ok(()) => {
                    self.show(Modal::Prompt(Prompt::new(
                        PromptKind::TriggerData {
                            channel: channel.clone(),
                            event: value,
                        },
                        "",
                    )));
                    return Update::redraw();
                }
                Err(e) => Err(e.to_string()),
            },
            PromptKind::TriggerData { channel, event } => {
                let parsed = if value.is_empty() {
                    Ok(serde_json::json!({}))
                } else {
                    serde_json::from_str(&value).map_err(|e| format!("not valid JSON: {e}"))
                };
                match parsed {
                    Ok(data) => {
                        self.notify(format!("sent {event} on {channel}"), NoticeLevel::Info);
                        Ok(Update::command(connection::Command::Trigger {
                            channel: channel.clone(),
                            event: event.clone(),
                            data,
                        }))
                    }
                    Err(e) => Err(e),
                }
            }
            PromptKind::Filter { .. } => {
                self.set_filter(&value);
                Ok(Update::redraw())
            }
        };
        match result {
            // A step that opened the next prompt (publish) has already put it in place.
            Ok(u) => u,
            Err(e) => {
                p.error = Some(e);
                self.show(Modal::Prompt(p));
                Update::redraw()
            }
        }
    }

    /// Subscribe to a channel the user named or picked, and select it.
    pub(super) fn start_trigger(&mut self) -> Update {
        let Some(c) = self.selected_channel() else {
            self.notify(
                "select a private or presence channel first (Channels pane)",
                NoticeLevel::Error,
            );
            return Update::redraw();
        };
        if !c.kind.allows_client_events() {
            let text = format!(
                "client events need a private or presence channel; {} is {}",
                c.name,
                c.kind.label()
            );
            self.notify(text, NoticeLevel::Error);
            return Update::redraw();
        }
        if c.status != ChannelStatus::Subscribed {
            let text = format!("{} is not subscribed yet", c.name);
            self.notify(text, NoticeLevel::Error);
            return Update::redraw();
        }
        let channel = c.name.clone();
        self.show(Modal::Prompt(Prompt::new(
            PromptKind::TriggerEvent { channel },
            "client-",
        )));
        Update::redraw()
    }
}
