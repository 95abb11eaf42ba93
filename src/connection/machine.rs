//! TEMPORARY skeleton: the real machine replaces this file in the next commit.
use super::{Input, MachineConfig, Output};
use crate::record::State;
use std::time::Instant;

pub struct Machine {
    #[allow(dead_code)]
    config: MachineConfig,
    state: State,
}

impl Machine {
    pub fn new(config: MachineConfig) -> Machine {
        Machine {
            config,
            state: State::Initialized,
        }
    }
    pub fn handle(&mut self, _now: Instant, _input: Input) -> Vec<Output> {
        Vec::new()
    }
    pub fn next_deadline(&self) -> Option<Instant> {
        None
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn socket_id(&self) -> Option<&str> {
        None
    }
}
