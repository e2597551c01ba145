//! Criticality levels of incidents, 0 (baseline) to 5 (emergency) (R11). Levels 3–5 go on from NCCIS to the
//! national security bodies.

use crate::ModelError;

/// A criticality level, 0 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Criticality(u8);

impl Criticality {
    pub fn new(level: u8) -> Result<Self, ModelError> {
        if level > 5 {
            return Err(ModelError::InvalidCriticality(level));
        }
        Ok(Self(level))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// The level's name: baseline, low, medium, high, severe, emergency.
    pub fn name(self) -> &'static str {
        ["baseline", "low", "medium", "high", "severe", "emergency"][usize::from(self.0)]
    }

    /// Levels 3, 4 and 5 are escalated beyond NCCIS.
    pub fn escalates(self) -> bool {
        self.0 >= 3
    }
}
