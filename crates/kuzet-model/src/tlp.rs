//! The Traffic Light Protocol: how far a piece of threat intelligence may travel.

/// A Traffic Light Protocol level: how far a marked object may travel. Ordered from the widest to the narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR (STIX 2.1's predefined TLP:WHITE): no limit.
    Clear,
    /// TLP:GREEN: the community, not published.
    Green,
    /// TLP:AMBER: the recipient's organization and its clients, on a need-to-know basis.
    Amber,
    /// TLP:RED: the named recipients only. TLP:AMBER+STRICT, which STIX 2.1 predefines no marking for, is held
    /// here too: an object is never shared more widely than marked.
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 4] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::Red];

    /// `clear`, `green`, `amber`, `red`: the name in collection titles and in query parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::Red => "red",
        }
    }

    /// A level by name (`clear`/`white`, `green`, `amber`, `amber+strict`, `red`), with or without a `tlp:`
    /// prefix, in any case.
    pub fn parse(text: &str) -> Option<Tlp> {
        let text = text.trim().to_ascii_lowercase();
        let name = text.strip_prefix("tlp:").unwrap_or(&text).trim();
        Some(match name {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "red" => Tlp::Red,
            _ => return None,
        })
    }

    /// The narrowest level among tags such as MISP's `tlp:amber` (other tags are ignored).
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
        tags.into_iter()
            .filter(|t| t.trim().to_ascii_lowercase().starts_with("tlp:"))
            .filter_map(Tlp::parse)
            .max()
    }

    /// The level a STIX 2.1 predefined TLP marking-definition id stands for.
    pub fn from_marking(id: &str) -> Option<Tlp> {
        Tlp::ALL.into_iter().find(|t| t.marking_id() == id)
    }

    /// The id of STIX 2.1's predefined marking definition for this level.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            Tlp::Green => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            Tlp::Amber => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            Tlp::Red => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_from_names_tags_and_markings() {
        assert_eq!(Tlp::parse("TLP:WHITE"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("amber+strict"), Some(Tlp::Red));
        assert_eq!(Tlp::parse("purple"), None);
        assert_eq!(
            Tlp::from_tags(["apt", "tlp:green", "TLP:AMBER"]),
            Some(Tlp::Amber)
        );
        assert_eq!(Tlp::from_tags(["apt", "green"]), None);
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::from_marking(tlp.marking_id()), Some(tlp));
            assert_eq!(Tlp::parse(tlp.as_str()), Some(tlp));
        }
        assert!(Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::Red);
    }
}
