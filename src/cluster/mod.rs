//! Several nodes of one deployment watched at once, pure: the delivery matrix (each probe
//! round publishes through every node's HTTP API and every node's socket should receive
//! it), presence rosters compared across nodes (members some nodes list and others do not,
//! ghosts), and the shapes of the `delivery` and `divergence` records. Sans-IO: every call
//! takes the time, so all of it is tested under virtual time. The session runs it
//! (`session::cluster`).

pub mod matrix;
pub mod record;

pub use matrix::{CellStats, Matrix, parse_probe, probe_data};
pub use record::{Delivery, DeliveryCell, Divergence, DivergenceKind};
