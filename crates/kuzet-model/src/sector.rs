//! The sector of the economy an organization belongs to: the dimension the NCCIS national view counts incidents
//! by, so the same closed list is used by every ISOC.

use std::fmt;

use crate::ModelError;

macro_rules! sectors {
    ($($variant:ident = $code:literal, $doc:literal;)*) => {
        /// A sector of critical and e-government infrastructure.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Sector {
            $(#[doc = $doc] $variant,)*
        }

        impl Sector {
            pub const ALL: &[Sector] = &[$(Sector::$variant,)*];

            /// The code written in configuration, the API and the exchange (`energy`, `oil_gas`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Sector::$variant => $code,)*
                }
            }
        }
    };
}

sectors! {
    Energy = "energy", "Electricity and heat: generation, transmission, distribution.";
    OilGas = "oil_gas", "Oil and gas: extraction, pipelines, refining.";
    Telecom = "telecom", "Telecommunications and the internet's infrastructure.";
    Finance = "finance", "Banks, payments, insurance, securities.";
    Transport = "transport", "Rail, air, road, sea and their control systems.";
    Healthcare = "healthcare", "Hospitals, medical information systems.";
    Government = "government", "State bodies and e-government.";
    Water = "water", "Water supply and utilities.";
    Industry = "industry", "Industry, mining and metallurgy.";
    Education = "education", "Education and science.";
    Agriculture = "agriculture", "Agriculture and food.";
    Other = "other", "None of the above.";
}

impl Sector {
    /// A sector by its code.
    pub fn parse(code: &str) -> Result<Sector, ModelError> {
        Sector::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == code)
            .ok_or_else(|| ModelError::UnknownSector(code.to_owned()))
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_others_are_named() {
        for sector in Sector::ALL {
            assert_eq!(Sector::parse(sector.as_str()).unwrap(), *sector);
        }
        let error = Sector::parse("space").unwrap_err().to_string();
        assert!(
            error.contains("`space`") && error.contains("energy"),
            "{error}"
        );
    }
}
