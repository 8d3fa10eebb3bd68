//! Who a finding is about or a message goes to: a party of the chain.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{OrgId, Owner};

/// A party of the chain: an entry of the registry, or one of the stand-ins baken makes for
/// addresses the registry does not cover.
///
/// Registered parties are organisations, CERTs, hosting providers, supervisors, the DTC and
/// national CSIRTs alike (their [`crate::OrgKind`] in the registry says which; a recipient a
/// source named is a registered party too). The stand-ins come from public registry data:
/// an address nobody registered but that sits in a hosting provider's network (known from the
/// abuse contact of that network in RPSL) belongs to that network's *unregistered holders*,
/// who are reached through the provider.
///
/// A party has two texts: [`Party::key`], stable and unique, for storage, message keys and
/// machine-readable output (a registry id as it is; `unregistered@ABUSE` and
/// `rpsl-abuse:ABUSE` for the stand-ins, which registry ids may not look like), and
/// [`fmt::Display`] for readers.
///
/// ```
/// use baken_model::{OrgId, Party};
/// let holders = Party::UnregisteredHolders { abuse: "abuse@hoster.example".into() };
/// assert_eq!(holders.key(), "unregistered@abuse@hoster.example");
/// assert_eq!(Party::from_key(&holders.key()), holders);
/// assert_eq!(holders.to_string(), "unregistered holders of addresses in the network of abuse@hoster.example");
/// assert_eq!(Party::from_key("KVK-1"), Party::Registered(OrgId("KVK-1".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// An entry of the registry, by its id.
    Registered(OrgId),
    /// A hosting provider the registry does not hold, known by the abuse contact of its
    /// network in a regional internet registry.
    RegistryHoster {
        /// The abuse contact's address.
        abuse: String,
    },
    /// The holders of addresses in a hosting provider's network who are not in the registry.
    UnregisteredHolders {
        /// The abuse contact of the network, through which they are reached.
        abuse: String,
    },
    /// An address or domain nobody is known to hold (neither the registry nor RPSL).
    Unattributed {
        /// The address or domain, as text.
        what: String,
    },
}

/// Key prefix of [`Party::UnregisteredHolders`].
const UNREGISTERED: &str = "unregistered@";
/// Key prefix of [`Party::RegistryHoster`].
const REGISTRY_HOSTER: &str = "rpsl-abuse:";
/// Key prefix of [`Party::Unattributed`].
const UNATTRIBUTED: &str = "unattributed:";

impl Party {
    /// The stable key for storage, message keys and machine-readable output.
    pub fn key(&self) -> String {
        match self {
            Party::Registered(id) => id.0.clone(),
            Party::RegistryHoster { abuse } => format!("{REGISTRY_HOSTER}{abuse}"),
            Party::UnregisteredHolders { abuse } => format!("{UNREGISTERED}{abuse}"),
            Party::Unattributed { what } => format!("{UNATTRIBUTED}{what}"),
        }
    }

    /// The party a key names; any text that is no stand-in's key is a registry id.
    pub fn from_key(key: &str) -> Party {
        if let Some(abuse) = key.strip_prefix(UNREGISTERED) {
            Party::UnregisteredHolders {
                abuse: abuse.into(),
            }
        } else if let Some(abuse) = key.strip_prefix(REGISTRY_HOSTER) {
            Party::RegistryHoster {
                abuse: abuse.into(),
            }
        } else if let Some(what) = key.strip_prefix(UNATTRIBUTED) {
            Party::Unattributed { what: what.into() }
        } else {
            Party::Registered(OrgId(key.into()))
        }
    }

    /// The party an attribution names: the registered owner, the unregistered holders behind
    /// the abuse contact, or, when nobody is known, `what` (the address or domain).
    pub fn owning(owner: &Owner, what: impl Into<String>) -> Party {
        match owner {
            Owner::Organisation { id } => Party::Registered(id.clone()),
            Owner::Abuse(contact) => Party::UnregisteredHolders {
                abuse: contact.email.clone(),
            },
            Owner::Unknown => Party::Unattributed { what: what.into() },
        }
    }

    /// The id a policy routes by: the registry id, or the key of a stand-in.
    pub fn org_id(&self) -> OrgId {
        match self {
            Party::Registered(id) => id.clone(),
            other => OrgId(other.key()),
        }
    }

    /// The registry id, when the party is in the registry.
    pub fn registered(&self) -> Option<&OrgId> {
        match self {
            Party::Registered(id) => Some(id),
            _ => None,
        }
    }

    /// Whether the party is a stand-in of baken's, not a registry entry.
    pub fn is_stand_in(&self) -> bool {
        !matches!(self, Party::Registered(_))
    }

    /// Why `id` may not be a registry id (it would read as a stand-in's key), or `None`.
    pub fn reserved_id(id: &str) -> Option<String> {
        [UNREGISTERED, REGISTRY_HOSTER, UNATTRIBUTED]
            .into_iter()
            .find(|p| id.starts_with(p))
            .map(|p| {
                format!("ids starting with `{p}` are reserved for parties outside the registry; choose another id")
            })
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Registered(id) => write!(f, "{id}"),
            Party::RegistryHoster { abuse } => write!(f, "the hosting provider reached at {abuse}"),
            Party::UnregisteredHolders { abuse } => write!(
                f,
                "unregistered holders of addresses in the network of {abuse}"
            ),
            Party::Unattributed { what } => write!(f, "{what}"),
        }
    }
}

impl From<OrgId> for Party {
    fn from(id: OrgId) -> Self {
        Party::Registered(id)
    }
}

impl Serialize for Party {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Party {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Party::from_key(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_names_its_party_again() {
        let parties = [
            Party::Registered(OrgId("KVK-1".into())),
            Party::Registered(OrgId("org:with:colons@x".into())),
            Party::RegistryHoster {
                abuse: "abuse@hoster.example".into(),
            },
            Party::UnregisteredHolders {
                abuse: "abuse@hoster.example".into(),
            },
            Party::Unattributed {
                what: "198.18.0.1".into(),
            },
        ];
        for p in parties {
            assert_eq!(Party::from_key(&p.key()), p, "{}", p.key());
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.key()));
            assert_eq!(serde_json::from_str::<Party>(&json).unwrap(), p);
        }
    }

    #[test]
    fn stand_in_keys_are_reserved_for_stand_ins() {
        assert!(Party::reserved_id("unregistered@abuse@x.example").is_some());
        assert!(Party::reserved_id("rpsl-abuse:abuse@x.example").is_some());
        assert!(Party::reserved_id("unattributed:198.18.0.1").is_some());
        assert!(Party::reserved_id("KVK-1").is_none());
        assert!(!Party::Registered(OrgId("KVK-1".into())).is_stand_in());
        assert!(
            Party::UnregisteredHolders {
                abuse: "a@x.example".into()
            }
            .is_stand_in()
        );
    }
}
