//! The channel table: subscribing and unsubscribing, authorizing private, presence and
//! encrypted channels (and again on a reauthorization), the server's answers to a
//! subscription and presence members coming and going.

use super::*;

impl Machine {
    pub(super) fn subscribe(&mut self, name: String) {
        if let Err(e) = channel::validate_channel_name(&name) {
            self.record(Record::SubscriptionError {
                channel: name,
                status: None,
                message: e.to_string(),
            });
            return;
        }
        if let Some(existing) = self.channels.get(&name) {
            if existing.status != SubscriptionState::Failed {
                return; // already subscribed or on its way
            }
            self.channels[&name].status = SubscriptionState::Queued;
        } else {
            self.channels.insert(
                name.clone(),
                Channel {
                    kind: ChannelKind::of(&name),
                    status: SubscriptionState::Queued,
                    members: Members::default(),
                    key: None,
                    reauth: None,
                },
            );
        }
        if self.socket_id().is_some() {
            self.start_subscription(&name);
        }
    }

    pub(super) fn unsubscribe(&mut self, name: &str) {
        let Some(ch) = self.channels.shift_remove(name) else {
            self.error(
                None,
                format!("cannot unsubscribe from {name}: not subscribed"),
            );
            return;
        };
        // The server handles frames in order, so an unsubscribe right after a pending
        // subscribe is safe; an auth still in flight is simply dropped when it returns.
        if matches!(
            ch.status,
            SubscriptionState::Pending | SubscriptionState::Subscribed
        ) && let Some(conn) = self.established_id()
        {
            self.send(conn, frame::unsubscribe(name));
        }
        self.record(Record::Unsubscribed {
            channel: name.to_string(),
        });
    }

    pub(super) fn on_subscribed(&mut self, f: Frame) {
        let Some(name) = f.channel.clone() else {
            self.error(None, "subscription_succeeded without a channel".into());
            return;
        };
        // A late confirmation for a channel unsubscribed meanwhile needs nothing.
        let Some(ch) = self.channels.get_mut(&name) else {
            return;
        };
        ch.status = SubscriptionState::Subscribed;
        let members = (ch.kind == ChannelKind::Presence).then(|| {
            ch.members.load(f.data_value());
            Record::Members {
                channel: name.clone(),
                me: ch.members.me(),
                count: ch.members.count(),
                members: ch.members.list(),
            }
        });
        self.record(Record::Subscribed {
            channel: name.clone(),
        });
        if let Some(m) = members {
            self.record(m);
        }
    }

    pub(super) fn on_member(&mut self, f: Frame, added: bool) {
        let channel = f.channel.clone().unwrap_or_default();
        let id = f.data_field("user_id").and_then(id_string);
        let Some(ch) = self
            .channels
            .get_mut(&channel)
            .filter(|c| c.kind == ChannelKind::Presence)
        else {
            self.error(
                None,
                format!(
                    "{} for {channel:?}, which is not a subscribed presence channel",
                    f.event
                ),
            );
            return;
        };
        let Some(id) = id else {
            self.error(None, format!("{} without a user_id", f.event));
            return;
        };
        let early = ch.status != SubscriptionState::Subscribed;
        if added {
            let info = f.data_field("user_info").cloned().unwrap_or(Value::Null);
            if early {
                ch.members.before_snapshot(&id, Some(&info));
            }
            let m = ch.members.add(id, info);
            self.record(Record::MemberAdded {
                channel,
                id: m.id,
                info: m.info,
            });
        } else {
            if early {
                ch.members.before_snapshot(&id, None);
            }
            if ch.members.remove(&id) {
                self.record(Record::MemberRemoved { channel, id });
            }
        }
    }

    /// The answer to a re-authorization: decrypt the parked events with the new key.
    pub(super) fn on_reauthorized(&mut self, name: String, result: Result<AuthGrant, AuthFailure>) {
        let Some(ch) = self.channels.get_mut(&name) else {
            return;
        };
        let parked = ch.reauth.take().map(|(_, p)| p).unwrap_or_default();
        let key = match result {
            Ok(AuthGrant {
                shared_secret: Some(k),
                ..
            }) => k,
            Ok(_) => {
                let n = parked.len();
                return self.error(
                    None,
                    format!("re-authorizing {name} gave no shared_secret; {n} encrypted event(s) dropped"),
                );
            }
            Err(f) => {
                let n = parked.len();
                return self.error(
                    f.status.map(i64::from),
                    format!(
                        "re-authorizing {name} failed: {}; {n} encrypted event(s) dropped",
                        f.message
                    ),
                );
            }
        };
        ch.key = Some(key.clone());
        for f in parked {
            if let Err(e) = self.record_decrypted(&key, &f) {
                self.error(
                    None,
                    format!(
                        "event {} on {name} is undecryptable even with a fresh key ({e}); dropped",
                        f.event
                    ),
                );
            }
        }
    }

    pub(super) fn start_subscription(&mut self, name: &str) {
        let (Some(conn), Some(socket_id)) = (self.established_id(), self.socket_id()) else {
            return;
        };
        let socket_id = socket_id.to_string();
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        if ch.kind.needs_auth() {
            ch.status = SubscriptionState::Authorizing {
                socket_id: socket_id.clone(),
            };
            self.out.push(Output::Authorize(AuthRequest {
                channel: name.to_string(),
                socket_id,
            }));
        } else {
            ch.status = SubscriptionState::Pending;
            ch.members.awaiting_snapshot();
            self.send(conn, frame::subscribe(name, "", None));
        }
    }

    pub(super) fn on_authorized(
        &mut self,
        request: AuthRequest,
        result: Result<AuthGrant, AuthFailure>,
    ) {
        // Only a grant for the current socket and a channel still waiting for it counts:
        // a signature for an older socket_id would be refused by the server.
        let current = self.socket_id() == Some(request.socket_id.as_str());
        let reauth = self.channels.get(&request.channel).is_some_and(|c| {
            c.reauth
                .as_ref()
                .is_some_and(|(s, _)| *s == request.socket_id)
        });
        if current && reauth {
            return self.on_reauthorized(request.channel, result);
        }
        let waiting = self.channels.get(&request.channel).is_some_and(|c| {
            c.status
                == SubscriptionState::Authorizing {
                    socket_id: request.socket_id.clone(),
                }
        });
        if !(current && waiting) {
            return;
        }
        let name = request.channel;
        let grant = match result {
            Ok(g) => g,
            Err(f) => return self.fail_channel(name, f.status, f.message),
        };
        let kind = self.channels[&name].kind;
        let mut my_id = None;
        if kind == ChannelKind::Presence {
            let parsed = grant
                .channel_data
                .as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok());
            match parsed
                .as_ref()
                .and_then(|d| d.get("user_id"))
                .and_then(id_string)
            {
                Some(id) => my_id = Some(id),
                // Since pusher-js 7.4 a signed-in user needs no channel_data: the server uses the user.
                None if grant.channel_data.is_none() && self.user.is_some() => {
                    my_id = self.user.clone();
                }
                None => {
                    let message = match &grant.channel_data {
                        None => "presence authorization has no channel_data".to_string(),
                        Some(d) => format!("presence channel_data has no user_id: {}", excerpt(d)),
                    };
                    return self.fail_channel(name, None, message);
                }
            }
        }
        if kind == ChannelKind::Encrypted && grant.shared_secret.is_none() {
            let message =
                format!("No shared_secret key in auth payload for encrypted channel: {name}");
            return self.fail_channel(name, None, message);
        }
        let Some(conn) = self.established_id() else {
            return;
        };
        let ch = &mut self.channels[&name];
        ch.status = SubscriptionState::Pending;
        ch.members.awaiting_snapshot();
        ch.key = grant.shared_secret.clone();
        if my_id.is_some() {
            ch.members.my_id = my_id;
        }
        let text = frame::subscribe(&name, &grant.auth, grant.channel_data.as_deref());
        self.send(conn, text);
    }

    pub(super) fn fail_channel(&mut self, channel: String, status: Option<u16>, message: String) {
        if let Some(ch) = self.channels.get_mut(&channel) {
            ch.status = SubscriptionState::Failed;
        }
        self.record(Record::SubscriptionError {
            channel,
            status,
            message,
        });
    }

    /// After the connection is lost every channel waits for the next one; members are rebuilt
    /// from the next `subscription_succeeded`.
    pub(super) fn requeue_channels(&mut self) {
        self.user = None; // sign-in is per socket: redone on the next connection
        for ch in self.channels.values_mut() {
            ch.reauth = None;
            ch.status = SubscriptionState::Queued;
            ch.members.clear();
        }
    }
}
