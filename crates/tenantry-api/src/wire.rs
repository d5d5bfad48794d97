//! Wire types shared by more than one API. A type used by one API only stays beside its
//! operations (`backend/…`, `enduser/…`).

pub mod orgs;
