//! The states of an ownership transfer (docs/design.md §4.8). Who may start one and the roles it hands out
//! are [`check_transfer_ownership`](super::check_transfer_ownership); this is about the stored
//! transfer and its emailed confirmation link.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, ErrorKind};

use super::invites::UnknownState;

/// Where an ownership transfer stands. Stored as its [`TransferState::as_str`] text; an org has at
/// most one pending transfer, and only a pending one changes state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferState {
    /// Waiting for the initiating owner to confirm from the emailed link.
    Pending,
    Confirmed,
    Cancelled,
    /// Marked so when its link was used, or a new transfer was started, after it expired. A
    /// transfer past its `expires_at` may still be stored as pending.
    Expired,
}

impl TransferState {
    pub const ALL: [TransferState; 4] =
        [TransferState::Pending, TransferState::Confirmed, TransferState::Cancelled, TransferState::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Pending => "pending",
            TransferState::Confirmed => "confirmed",
            TransferState::Cancelled => "cancelled",
            TransferState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<TransferState> {
        TransferState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl fmt::Display for TransferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for TransferState {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, UnknownState> {
        TransferState::parse(&s).ok_or(UnknownState { what: "transfer", state: s })
    }
}

/// Whether a transfer can still be confirmed at `now`: only while pending and unexpired. Refuses
/// with 410: `transfer-expired`, `transfer-cancelled`, or `transfer-used` once confirmed. A
/// pending transfer refused here has expired, and the use case marks it so.
pub fn check_transfer_confirmable(
    state: TransferState,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let gone = |code, detail: &str| Err(DomainError::new(ErrorKind::Gone, code, detail));
    match state {
        TransferState::Pending if expires_at > now => Ok(()),
        TransferState::Pending | TransferState::Expired => {
            gone("transfer-expired", "This transfer has expired. Start a new one.")
        }
        TransferState::Cancelled => gone("transfer-cancelled", "This transfer was cancelled."),
        TransferState::Confirmed => gone("transfer-used", "This transfer was already confirmed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::testing::assert_refused;

    #[test]
    fn transfer_states_are_stored_as_their_names() {
        for state in TransferState::ALL {
            assert_eq!(TransferState::parse(state.as_str()), Some(state));
            assert_eq!(TransferState::try_from(state.to_string()), Ok(state));
        }
        let names: Vec<&str> = TransferState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["pending", "confirmed", "cancelled", "expired"]);
        let err = TransferState::try_from("accepted".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), r#"unknown transfer state "accepted""#);
    }

    #[test]
    fn only_a_pending_unexpired_transfer_can_be_confirmed() {
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let later = now + chrono::TimeDelta::seconds(1);
        assert!(check_transfer_confirmable(TransferState::Pending, later, now).is_ok());
        for (state, expires_at, code) in [
            (TransferState::Pending, now, "transfer-expired"),
            (TransferState::Expired, later, "transfer-expired"),
            (TransferState::Cancelled, later, "transfer-cancelled"),
            (TransferState::Confirmed, later, "transfer-used"),
        ] {
            let err = check_transfer_confirmable(state, expires_at, now).unwrap_err();
            assert_refused(&err, code, ErrorKind::Gone);
        }
    }
}
