//! Connect to a Pusher-protocol server over plain `ws://`, subscribe to public channels and
//! print what the client reports, one NDJSON line a record, until the process is stopped.
//!
//!     cargo run -p chanwatch-core --example print_records -- 127.0.0.1:6001 KEY news
use chanwatch_core::auth::Authorizer;
use chanwatch_core::client::{self, ClientConfig};
use chanwatch_core::connection::{Endpoint, MachineConfig};
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: print_records HOST:PORT KEY [CHANNEL ...]");
        std::process::exit(2);
    };
    let Some((host, Ok(port))) = addr.rsplit_once(':').map(|(h, p)| (h, p.parse())) else {
        eprintln!("print_records: {addr} is not HOST:PORT");
        std::process::exit(2);
    };
    let endpoint = Endpoint {
        tls: false,
        ws_port: port,
        ..Endpoint::new(host, key)
    };
    let config = ClientConfig::new(MachineConfig::new(endpoint), args.collect());
    // Public channels need no authorizer; `Authorizer::Local` signs private ones.
    let mut client = client::spawn(config, Arc::new(Authorizer::None));
    while let Some(stamped) = client.records.recv().await {
        println!("{}", stamped.to_json_line());
    }
}
