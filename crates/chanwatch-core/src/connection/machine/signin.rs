//! User sign-in (`pusher:signin`): asking the authenticator, the server's answer, the
//! user's own channel and the watchlist.

use super::*;

impl Machine {
    pub(super) fn request_signin(&mut self) {
        if let Some(socket_id) = self.socket_id() {
            let socket_id = socket_id.to_string();
            self.out.push(Output::AuthenticateUser { socket_id });
        }
    }

    pub(super) fn on_user_authenticated(
        &mut self,
        socket_id: &str,
        result: Result<UserGrant, AuthFailure>,
    ) {
        if self.socket_id() != Some(socket_id) {
            return; // signed for an older socket
        }
        match result {
            Ok(grant) => {
                if let Some(conn) = self.established_id() {
                    self.send(conn, frame::signin(&grant.auth, &grant.user_data));
                }
            }
            Err(f) => self.record(Record::SigninError {
                status: f.status,
                message: f.message,
            }),
        }
    }

    pub(super) fn on_signin_success(&mut self, f: &Frame) {
        // user_data is itself a JSON string inside data (or already an object on some servers).
        let user_data = match f.data_field("user_data") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(v @ Value::Object(_)) => Some(v.clone()),
            _ => None,
        };
        let id = user_data
            .as_ref()
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        let (Some(user_data), Some(id)) = (user_data, id) else {
            self.record(Record::SigninError {
                status: None,
                message: format!(
                    "pusher:signin_success without user_data holding a non-empty string id: {}",
                    excerpt(&f.data.to_string())
                ),
            });
            return;
        };
        let user_channel = format!("#server-to-user-{id}");
        self.user = Some(id.clone());
        if let Some(conn) = self.established_id() {
            self.send(conn, frame::subscribe(&user_channel, "", None));
        }
        self.record(Record::SignedIn {
            user_id: id,
            user_data,
        });
    }

    pub(super) fn is_user_channel(&self, channel: &str) -> bool {
        self.user
            .as_ref()
            .is_some_and(|id| channel.strip_prefix("#server-to-user-") == Some(id))
    }

    pub(super) fn watchlist(&mut self, event: String, ids: Option<&Value>) {
        let user_ids = ids
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(id_string).collect())
            .unwrap_or_default();
        self.record(Record::Watchlist { event, user_ids });
    }
}
