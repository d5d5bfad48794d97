//! The billing plans and what each allows in Tenantry: the seat limit (`max_users`) of the org.

use serde::{Deserialize, Serialize};

/// A billing plan, as the billing provider names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Hobby,
    Startup,
    Growth,
}

impl Plan {
    /// Every plan, for error messages.
    pub const ALL: [Plan; 3] = [Plan::Hobby, Plan::Startup, Plan::Growth];

    /// The plan named `name` (exactly, lower case), if there is one.
    pub fn parse(name: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Hobby => "hobby",
            Plan::Startup => "startup",
            Plan::Growth => "growth",
        }
    }

    /// The org's `max_users` in Tenantry on this plan; `None` is unlimited (sent as `null`).
    /// Tenantry counts members plus pending invites against it, and lowering it removes nobody:
    /// a downgraded org keeps its members but cannot invite more.
    pub const fn max_users(self) -> Option<u32> {
        match self {
            Plan::Hobby => Some(1),
            Plan::Startup => Some(5),
            Plan::Growth => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_plan_has_its_seat_limit() {
        assert_eq!(Plan::Hobby.max_users(), Some(1));
        assert_eq!(Plan::Startup.max_users(), Some(5));
        assert_eq!(Plan::Growth.max_users(), None);
    }

    #[test]
    fn plans_parse_by_their_exact_names() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
            let json = serde_json::to_string(&plan).unwrap();
            assert_eq!(json, format!("\"{}\"", plan.as_str()));
        }
        for unknown in ["", "Hobby", "enterprise", " startup", "growth "] {
            assert_eq!(Plan::parse(unknown), None, "{unknown:?}");
        }
    }
}
