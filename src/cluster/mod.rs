//! Several nodes of one deployment watched at once, pure. The session runs it
//! (`session::cluster`); everything here is sans-IO, every call takes the time, so all of it
//! is tested under virtual time.
//!
//! - [`matrix`]: the delivery matrix. Each probe round publishes through every node's HTTP
//!   API and every node's socket should receive each publish; per publisher and receiver,
//!   loss and latency over a window of rounds, and what the matrix means in words (the
//!   adapter failing, a node that receives nothing, an API that does not answer). Kept in
//!   arrays sized once, so a received probe never allocates.
//! - [`presence`]: the nodes' presence rosters and their HTTP APIs' counts compared: members
//!   some nodes list and others do not, ghosts (members still listed after they left or
//!   after their node went), counts that differ.
//! - [`record`]: the shapes of the `delivery` and `divergence` records.

pub mod matrix;
pub mod presence;
pub mod record;

pub use matrix::{CellStats, Matrix, parse_probe, probe_data};
pub use presence::{ChannelCount, Dropped, MemberState, Rosters};
pub use record::{Delivery, DeliveryCell, Divergence, DivergenceKind};
