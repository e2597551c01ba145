//! The threat (risk) catalog's arithmetic (R24, R25): each entry's likelihood and impact on 1–5 scales, their
//! product the score, the score's rating on the usual 5×5 matrix, and the treatments an owner may choose.

use crate::CasesError;

/// How an owner treats a risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Reduce it with measures (the plan says which).
    Mitigate,
    /// Live with it, knowingly.
    Accept,
    /// Insure or contract it out.
    Transfer,
    /// Stop what causes it.
    Avoid,
}

impl Treatment {
    pub const ALL: [Treatment; 4] = [
        Treatment::Mitigate,
        Treatment::Accept,
        Treatment::Transfer,
        Treatment::Avoid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::Mitigate => "mitigate",
            Treatment::Accept => "accept",
            Treatment::Transfer => "transfer",
            Treatment::Avoid => "avoid",
        }
    }

    pub fn parse(text: &str) -> Result<Self, CasesError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                CasesError::Risk(format!(
                    "treatment `{text}`: one of mitigate, accept, transfer, avoid"
                ))
            })
    }
}

/// A score's rating: 1–4 low, 5–9 medium, 10–14 high, 15–25 critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rating {
    Low,
    Medium,
    High,
    Critical,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }
}

/// The score (likelihood × impact) and its rating; each factor must be 1 to 5.
pub fn risk_score(likelihood: u8, impact: u8) -> Result<(u8, Rating), CasesError> {
    for (name, value) in [("likelihood", likelihood), ("impact", impact)] {
        if !(1..=5).contains(&value) {
            return Err(CasesError::Risk(format!(
                "{name} {value}: a number from 1 to 5"
            )));
        }
    }
    let score = likelihood * impact;
    let rating = match score {
        1..=4 => Rating::Low,
        5..=9 => Rating::Medium,
        10..=14 => Rating::High,
        _ => Rating::Critical,
    };
    Ok((score, rating))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_rate_on_the_five_by_five_matrix() {
        let cases = [
            (1, 1, 1, Rating::Low),
            (2, 2, 4, Rating::Low),
            (1, 5, 5, Rating::Medium),
            (3, 3, 9, Rating::Medium),
            (2, 5, 10, Rating::High),
            (4, 3, 12, Rating::High),
            (3, 5, 15, Rating::Critical),
            (5, 5, 25, Rating::Critical),
        ];
        for (l, i, score, rating) in cases {
            assert_eq!(risk_score(l, i).unwrap(), (score, rating), "{l}×{i}");
        }
        assert!(
            risk_score(0, 3)
                .unwrap_err()
                .to_string()
                .contains("likelihood 0")
        );
        assert!(
            risk_score(3, 6)
                .unwrap_err()
                .to_string()
                .contains("impact 6")
        );
    }

    #[test]
    fn treatments_parse_by_name() {
        for t in Treatment::ALL {
            assert_eq!(Treatment::parse(t.as_str()).unwrap(), t);
        }
        assert!(
            Treatment::parse("ignore")
                .unwrap_err()
                .to_string()
                .contains("mitigate")
        );
    }

    proptest::proptest! {
        #[test]
        fn the_rating_never_falls_as_a_factor_rises(l in 1u8..=5, i in 1u8..=4) {
            let (_, lower) = risk_score(l, i).unwrap();
            let (_, higher) = risk_score(l, i + 1).unwrap();
            proptest::prop_assert!(lower <= higher);
        }
    }
}
