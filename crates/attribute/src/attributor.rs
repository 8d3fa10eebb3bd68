//! The lookup index: an event's IP address, ASN and host name to the organisation that owns
//! them, by the rules in the crate documentation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::IpAddr;

use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, Attribution, DottedQuad, OrgId, OrgKind, Organisation,
    Owner, RoutedPrefix, Rule,
};
use ipnet::IpNet;

use crate::domains::Domains;
use crate::lpm::{PrefixMap, RangeMap};
use crate::orgs::{Label, Map, Orgs, OrgsBuilder};
use crate::registry::{normalise_domain, parse_asn};
use crate::snapshot::{self, Reader, SnapshotError, Writer};

/// Two registry entries claim the same thing; the registry must be fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Two organisations share an id.
    DuplicateId(OrgId),
    /// Two organisations register the exact same network.
    Network(IpNet, OrgId, OrgId),
    /// Two organisations register the same AS.
    Asn(u32, OrgId, OrgId),
    /// Two organisations register the same domain.
    Domain(String, OrgId, OrgId),
    /// A domain that is not a domain name.
    BadDomain(OrgId, String),
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::DuplicateId(id) => write!(
                f,
                "the id {id} is used by two organisations; ids must be unique"
            ),
            Conflict::Network(net, a, b) => write!(
                f,
                "network {net} is registered to both {a} and {b}; keep it with the organisation that holds it (a more specific network may go to the other)"
            ),
            Conflict::Asn(asn, a, b) => write!(
                f,
                "AS{asn} is registered to both {a} and {b}; keep it with the organisation that operates it"
            ),
            Conflict::Domain(d, a, b) => write!(
                f,
                "domain {d} is registered to both {a} and {b}; keep it with the organisation that holds it (a subdomain may go to the other)"
            ),
            Conflict::BadDomain(id, message) => write!(f, "organisation {id}: {message}"),
        }
    }
}

/// The registry given to [`Attributor::new`] or [`AttributorBuilder`] is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the registry has {} conflict(s); the first: {}", conflicts.len(), conflicts[0])]
pub struct AttributorError {
    /// Every conflict found (never empty).
    pub conflicts: Vec<Conflict>,
}

/// What a [`Attributor::lookup`] query was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An AS number (`AS64496` or `64496`).
    Asn(u32),
    /// A host or domain name, lower-cased.
    Domain(String),
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Ip(ip) => write!(f, "{ip}"),
            Query::Asn(asn) => write!(f, "AS{asn}"),
            Query::Domain(d) => f.write_str(d),
        }
    }
}

/// A query for [`Attributor::lookup`] that is neither an address, an AS number nor a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot look up `{query}`: {message}")]
pub struct QueryError {
    /// The query as given.
    pub query: String,
    /// Why, and what to write instead.
    pub message: String,
}

/// One thing that matched a query, whether or not it decided the attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The rule it belongs to.
    pub rule: Rule,
    /// What matched: a network, `AS64496`, a domain.
    pub matched: String,
    /// Whom it points to.
    pub owner: Owner,
    /// One line saying where it comes from.
    pub note: String,
}

/// The answer to [`Attributor::lookup`]: the attribution and everything that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The query as understood.
    pub query: Query,
    /// The decision, as [`Attributor::attribute`] makes it.
    pub attribution: Attribution,
    /// Every match, in rule order and longest first within a rule.
    pub candidates: Vec<Candidate>,
}

/// The lookup index over the registry, a routing table and public registry abuse contacts.
///
/// Built once, then shared read-only (it is `Send + Sync`).
#[derive(Debug, Clone)]
pub struct Attributor {
    orgs: Orgs,
    networks: PrefixMap,
    asns: Map<u32>,
    domains: Domains,
    routed: RangeMap,
    abuse: Vec<AbuseRecord>,
    abuse_networks: PrefixMap,
    abuse_asns: Map<u32>,
}

/// Builds an [`Attributor`] from organisations given one at a time, as a registry file is
/// read: each is encoded as a snapshot holds it when it is added, so that a national registry
/// is never held as structs, and its conflicts are found as it comes.
///
/// ```
/// use baken_attribute::AttributorBuilder;
/// use baken_model::Organisation;
///
/// let mut builder = AttributorBuilder::new().sorted_by_id();
/// for id in ["org-b", "org-a"] {
///     let org: Organisation = toml::from_str(&format!("id = '{id}'\nname = '{id}'")).unwrap();
///     builder.add(&org);
/// }
/// let index = builder.build(vec![], vec![]).unwrap();
/// assert_eq!(index.organisations()[0].id.0, "org-a");
/// ```
pub struct AttributorBuilder {
    orgs: OrgsBuilder,
    network_owner: HashMap<IpNet, u32>,
    asns: Map<u32>,
    domains: Domains,
    conflicts: Vec<Conflict>,
    sort_by_id: bool,
}

impl Default for AttributorBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AttributorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttributorBuilder")
            .field("organisations", &self.orgs.len())
            .field("conflicts", &self.conflicts.len())
            .finish_non_exhaustive()
    }
}

impl AttributorBuilder {
    /// A builder that numbers the organisations in the order they are added.
    pub fn new() -> Self {
        AttributorBuilder {
            orgs: OrgsBuilder::new(),
            network_owner: HashMap::new(),
            asns: Map::default(),
            domains: Domains::default(),
            conflicts: Vec::new(),
            sort_by_id: false,
        }
    }

    /// Numbers the organisations in the order of their ids (by their bytes) instead: the
    /// order a store lists them in, so that an index built from a file and one built from
    /// the store are the same bytes.
    pub fn sorted_by_id(mut self) -> Self {
        self.sort_by_id = true;
        self
    }

    /// Organisations added, conflicting ones included.
    pub fn len(&self) -> usize {
        self.orgs.len() + self.duplicates()
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn duplicates(&self) -> usize {
        self.conflicts
            .iter()
            .filter(|c| matches!(c, Conflict::DuplicateId(_)))
            .count()
    }

    /// Adds an organisation. One whose id, exact network, AS or domain an earlier one has
    /// is a conflict, reported by [`AttributorBuilder::build`].
    pub fn add(&mut self, org: &Organisation) {
        let i = match self.orgs.push(org) {
            Ok(i) => i,
            Err(_) => {
                self.conflicts.push(Conflict::DuplicateId(org.id.clone()));
                return;
            }
        };
        let earlier = |orgs: &OrgsBuilder, j: u32| OrgId(orgs.id(j).to_string());
        for net in &org.networks {
            match self.network_owner.entry(net.trunc()) {
                std::collections::hash_map::Entry::Occupied(e) if *e.get() != i => {
                    self.conflicts.push(Conflict::Network(
                        net.trunc(),
                        earlier(&self.orgs, *e.get()),
                        org.id.clone(),
                    ))
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        for &asn in &org.asns {
            match self.asns.get(&asn) {
                Some(&j) if j != i => {
                    self.conflicts
                        .push(Conflict::Asn(asn, earlier(&self.orgs, j), org.id.clone()))
                }
                Some(_) => {}
                None => {
                    self.asns.insert(asn, i);
                }
            }
        }
        for domain in &org.domains {
            let domain = match normalise_domain(domain) {
                Ok(d) => d,
                Err(message) => {
                    self.conflicts
                        .push(Conflict::BadDomain(org.id.clone(), message));
                    continue;
                }
            };
            match self.domains.insert(&domain, i) {
                Err(j) if j != i => self.conflicts.push(Conflict::Domain(
                    domain,
                    earlier(&self.orgs, j),
                    org.id.clone(),
                )),
                _ => {}
            }
        }
    }

    /// The index over the organisations added, this routing table and these abuse records;
    /// fails with every conflict found. Of equal routed prefixes or abuse records the first
    /// is kept.
    pub fn build(
        mut self,
        routed: Vec<RoutedPrefix>,
        abuse: Vec<AbuseRecord>,
    ) -> Result<Attributor, AttributorError> {
        if !self.conflicts.is_empty() {
            return Err(AttributorError {
                conflicts: self.conflicts,
            });
        }
        if self.sort_by_id
            && let Some(new_number) = self.orgs.sort_by_id()
        {
            let renumber = |i: &mut u32| *i = new_number[*i as usize];
            self.network_owner.values_mut().for_each(renumber);
            self.asns.values_mut().for_each(renumber);
            self.domains.renumber(|i| new_number[i as usize]);
        }
        let networks = PrefixMap::new(self.network_owner.into_iter().collect());
        let (routed, abuse_networks, abuse_asns) = index_sources(routed, &abuse);
        Ok(Attributor {
            orgs: self.orgs.finish(),
            networks,
            asns: self.asns,
            domains: self.domains,
            routed,
            abuse,
            abuse_networks,
            abuse_asns,
        })
    }
}

impl Attributor {
    /// Builds the index. Fails if two organisations share an id or register the exact same
    /// network, AS or domain. Of equal routed prefixes or abuse records the first is kept.
    ///
    /// The organisations are numbered in the order given; [`AttributorBuilder`] builds the
    /// same index from organisations given one at a time.
    pub fn new(
        orgs: Vec<Organisation>,
        routed: Vec<RoutedPrefix>,
        abuse: Vec<AbuseRecord>,
    ) -> Result<Self, AttributorError> {
        let mut builder = AttributorBuilder::new();
        for org in &orgs {
            builder.add(org);
        }
        drop(orgs);
        builder.build(routed, abuse)
    }

    /// This index over the same registry with another routing table and other abuse
    /// records: what importing those changes, without decoding or checking the
    /// organisations again (an index loaded from a snapshot keeps them as it read them).
    /// It is the index [`Attributor::new`] builds from the same registry and these.
    pub fn with_sources(self, routed: Vec<RoutedPrefix>, abuse: Vec<AbuseRecord>) -> Self {
        let (routed, abuse_networks, abuse_asns) = index_sources(routed, &abuse);
        Attributor {
            routed,
            abuse,
            abuse_networks,
            abuse_asns,
            ..self
        }
    }

    /// The built index as bytes, for [`Attributor::from_snapshot`] to load without building
    /// it again: the organisations, the AS and domain tables, the prefix tables as built and
    /// the abuse records, behind a versioned header with a checksum. The format is described
    /// in the [`snapshot`] module. Equal indexes give equal bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        // every section but the organisations' first, apart, so that the snapshot is
        // allocated once at its size and the organisations' blocks are copied into it as
        // they are kept
        let mut w = Writer::section();
        w.pairs(self.asns.iter(), |w, &asn| w.u32(asn));
        let mut domains: Vec<(&str, u32)> = self.domains.iter().collect();
        domains.sort_unstable();
        w.pairs(domains.iter().map(|(d, i)| (d, i)), |w, domain| {
            w.str(domain)
        });
        self.networks.write(&mut w);
        self.routed.write(&mut w);
        w.count(self.abuse.len());
        for record in &self.abuse {
            snapshot::write_abuse_record(&mut w, record);
        }
        self.abuse_networks.write(&mut w);
        w.pairs(self.abuse_asns.iter(), |w, &asn| w.u32(asn));
        let (rest, rest_text) = w.written();
        let (count, blocks_len) = self.orgs.encoded_len();
        snapshot::assemble(rest_text.len(), 4 + blocks_len + rest.len(), |out| {
            out.extend_from_slice(rest_text);
            out.extend_from_slice(&count.to_le_bytes());
            self.orgs.write_blocks(out);
            out.extend_from_slice(rest);
        })
    }

    /// Loads an index written by [`Attributor::snapshot`]. It answers every query as the
    /// index that wrote it did. Nothing is sorted: the hash maps and the prefix tables' bucket
    /// indexes are built again in one pass each, and the organisations are checked but
    /// decoded only when first asked for.
    ///
    /// A snapshot that is not one, of another format version, truncated or damaged is an
    /// error, whatever its bytes: loading never panics, and a loaded index cannot read out
    /// of bounds.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut r = Reader::open(bytes)?;
        let orgs = Orgs::read(&mut r)?;
        // (a count is a u32, so the number of organisations and records is one too)
        let org_count = Some(orgs.len() as u32);
        let asns = read_numbers(&mut r, org_count, Reader::u32)?;
        let domains = read_domains(&mut r, org_count)?;
        let networks = PrefixMap::read(&mut r, org_count)?;
        let routed = RangeMap::read(&mut r, None)?;
        let n = r.count(snapshot::MIN_ABUSE_RECORD)?;
        let abuse = (0..n)
            .map(|_| snapshot::read_abuse_record(&mut r))
            .collect::<Result<Vec<_>, _>>()?;
        let record_count = Some(n as u32);
        let abuse_networks = PrefixMap::read(&mut r, record_count)?;
        let abuse_asns = read_numbers(&mut r, record_count, Reader::u32)?;
        r.end()?;
        Ok(Attributor {
            orgs,
            networks,
            asns,
            domains,
            routed,
            abuse,
            abuse_networks,
            abuse_asns,
        })
    }

    /// The organisation with this id.
    ///
    /// On an index loaded from a snapshot, this decodes the one organisation the first time
    /// it is asked for, found through a table of ids made at load; [`Attributor::organisations`]
    /// decodes them all, which takes about as long as loading did. [`Attributor::attribute`]
    /// and [`Attributor::lookup`] need only their ids and names, and never do.
    pub fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        self.orgs.get(id)
    }

    /// The organisations of these kinds (hosters, the DTC), in registry order, without
    /// decoding the others of an index loaded from a snapshot.
    pub fn organisations_of_kinds<'a>(
        &'a self,
        kinds: &'a [OrgKind],
    ) -> impl Iterator<Item = &'a Organisation> + 'a {
        self.orgs.of_kinds(kinds).map(|i| self.orgs.nth(i))
    }

    /// Every organisation, in registry order (all decoded on first use on an index loaded
    /// from a snapshot, where [`Attributor::organisation`] decodes only the one asked for).
    pub fn organisations(&self) -> &[Organisation] {
        self.orgs.all()
    }

    /// Whether an organisation of this id is registered, without decoding it.
    pub fn is_registered(&self, id: &OrgId) -> bool {
        self.orgs.contains(id)
    }

    /// Whether the organisation with this id is a vital provider, without decoding it;
    /// false for an id not in the registry.
    pub fn is_vital(&self, id: &OrgId) -> bool {
        self.orgs.is_vital(id)
    }

    /// The organisation with this id, decoded for this call alone on an index loaded from a
    /// snapshot (where [`Attributor::organisation`] keeps what it decodes): for a caller that
    /// reads each organisation once, such as an import comparing a whole registry.
    pub fn organisation_once(&self, id: &OrgId) -> Option<Cow<'_, Organisation>> {
        self.orgs.get_once(id)
    }

    /// Every organisation, in registry order, each decoded for the caller alone unless all
    /// are decoded already: a registry of millions passed on one at a time.
    pub fn each_organisation(&self) -> impl ExactSizeIterator<Item = Cow<'_, Organisation>> + '_ {
        (0..self.orgs.len() as u32).map(|i| self.orgs.nth_once(i))
    }

    /// Counts of what the index holds: organisations, registered networks, routed prefixes
    /// and abuse records.
    pub fn stats(&self) -> Stats {
        Stats {
            organisations: self.orgs.len(),
            networks: self.networks.len(),
            asns: self.asns.len(),
            domains: self.domains.len(),
            routed_prefixes: self.routed.len(),
            abuse_records: self.abuse.len(),
        }
    }

    /// The longest routed prefix containing `ip` and the AS announcing it, from the routing
    /// table alone (what IntelMQ's `asn_lookup` expert sets as `source.network` and
    /// `source.asn`); `None` when the table has no route for it.
    pub fn routed(&self, ip: IpAddr) -> Option<(IpNet, u32)> {
        self.routed.longest(ip)
    }

    /// The AS announcing the longest routed prefix containing `ip`; see [`Self::routed`].
    pub fn routed_asn(&self, ip: IpAddr) -> Option<u32> {
        self.routed.longest(ip).map(|(_, asn)| asn)
    }

    fn org_owner(&self, i: u32) -> (Owner, Label<'_>) {
        let org = self.orgs.label(i);
        let id = OrgId(org.id.to_string());
        (Owner::Organisation { id }, org)
    }

    /// The longest registered domain suffix of `host` (label-boundary), with the org index.
    fn domain_match<'a>(&self, host: &'a str) -> Option<(&'a str, u32)> {
        suffixes(host).find_map(|s| self.domains.get(s).map(|i| (s, i)))
    }

    /// Decides who owns an event's address, trying the rules in order: registered network,
    /// registered AS (the event's, then the routed one), registered domain, public registry
    /// abuse contact (network, then AS). The reason names what matched, or everything tried.
    pub fn attribute(
        &self,
        ip: Option<IpAddr>,
        asn: Option<u32>,
        domain: Option<&str>,
    ) -> Attribution {
        // Both tables are read up front, so that the processor overlaps their cache misses.
        let routed = ip.and_then(|ip| self.routed.longest(ip));
        // (1) the longest registered network
        if let Some(ip) = ip
            && let Some((net, i)) = self.networks.longest(ip)
        {
            let (owner, org) = self.org_owner(i);
            return Attribution {
                owner,
                rule: Rule::Prefix,
                reason: format!(
                    "{} is in {}, registered to {} ({})",
                    Fast(ip),
                    Fast(net),
                    org.id,
                    org.name
                ),
            };
        }
        // (2) a registered AS: the event's, else the routed one
        if let Some(asn) = asn
            && let Some(&i) = self.asns.get(&asn)
        {
            let (owner, org) = self.org_owner(i);
            return Attribution {
                owner,
                rule: Rule::Asn,
                reason: format!(
                    "AS{asn} (from the event) is registered to {} ({})",
                    org.id, org.name
                ),
            };
        }
        if let (Some(ip), Some((net, routed_asn))) = (ip, routed)
            && let Some(&i) = self.asns.get(&routed_asn)
        {
            let (owner, org) = self.org_owner(i);
            return Attribution {
                owner,
                rule: Rule::Asn,
                reason: format!(
                    "{} is routed by AS{routed_asn} ({} in the routing table), registered to {} ({})",
                    Fast(ip),
                    Fast(net),
                    org.id,
                    org.name
                ),
            };
        }
        // (3) the longest registered domain suffix
        let host = domain.map(normalise_host);
        if let Some(host) = host.as_deref()
            && let Some((suffix, i)) = self.domain_match(host)
        {
            let (owner, org) = self.org_owner(i);
            let reason = if suffix == host {
                format!("{host} is registered to {} ({})", org.id, org.name)
            } else {
                format!(
                    "{host} is under {suffix}, registered to {} ({})",
                    org.id, org.name
                )
            };
            return Attribution {
                owner,
                rule: Rule::Domain,
                reason,
            };
        }
        // (4) public registry abuse contacts: the network, else the AS
        if let Some(ip) = ip
            && let Some((net, r)) = self.abuse_networks.longest(ip)
        {
            let contact = &self.abuse[r as usize].contact;
            return Attribution {
                reason: format!(
                    "{} is in {} of {}, abuse contact {}",
                    Fast(ip),
                    Fast(net),
                    contact.via,
                    contact.email
                ),
                owner: Owner::Abuse(contact.clone()),
                rule: Rule::RegistryAbuse,
            };
        }
        let routed_asn = routed.map(|r| r.1);
        for (candidate, source) in [(asn, "from the event"), (routed_asn, "routed")] {
            if let Some(a) = candidate
                && let Some(&r) = self.abuse_asns.get(&a)
            {
                let contact = &self.abuse[r as usize].contact;
                return Attribution {
                    reason: format!(
                        "AS{a} ({source}) has abuse contact {} from {}",
                        contact.email, contact.via
                    ),
                    owner: Owner::Abuse(contact.clone()),
                    rule: Rule::RegistryAbuse,
                };
            }
        }
        // (5) nobody: say what was tried
        let mut reason = String::with_capacity(160);
        reason.push_str("no owner found");
        let mut sep = ": ";
        let mut tried = |args: fmt::Arguments<'_>| {
            reason.push_str(sep);
            // Writing to a String cannot fail.
            let _ = reason.write_fmt(args);
            sep = "; ";
        };
        if let Some(ip) = ip {
            tried(format_args!("no registered network contains {}", Fast(ip)));
        }
        match (asn, routed) {
            (Some(a), Some((_, r))) if a != r => tried(format_args!(
                "neither AS{a} (from the event) nor AS{r} (routed) is registered"
            )),
            (Some(a), _) => tried(format_args!("AS{a} (from the event) is not registered")),
            (None, Some((net, r))) => tried(format_args!(
                "AS{r} (routed, {}) is not registered",
                Fast(net)
            )),
            (None, None) if ip.is_some() => {
                tried(format_args!("the routing table has no route for it"))
            }
            (None, None) => {}
        }
        if let Some(host) = host.as_deref() {
            tried(format_args!("no registered domain covers {host}"));
        }
        if ip.is_some() || asn.is_some() {
            tried(format_args!("no public registry abuse contact"));
        }
        if sep == ": " {
            reason.push_str(": the event has no IP address, AS number or host name");
        }
        Attribution::unknown(reason)
    }

    /// The public registry abuse contact of the network that holds `ip` (the most specific
    /// one), else of the AS that routes it: the first [`Rule::RegistryAbuse`] candidate
    /// [`Attributor::lookup`] gives, without the other candidates or their notes.
    pub fn registry_abuse(&self, ip: IpAddr) -> Option<&AbuseContact> {
        let r = match self.abuse_networks.longest(ip) {
            Some((_, r)) => r,
            None => {
                let (_, asn) = self.routed.longest(ip)?;
                *self.abuse_asns.get(&asn)?
            }
        };
        Some(&self.abuse[r as usize].contact)
    }

    /// Looks up one IP address, AS number (`AS64496` or `64496`) or host name, as
    /// `baken registry lookup` does: the attribution plus every candidate that matched.
    pub fn lookup(&self, query: &str) -> Result<Lookup, QueryError> {
        let q = query.trim();
        let query_err = |message: &str| QueryError {
            query: query.to_string(),
            message: message.to_string(),
        };
        let parsed = if let Ok(ip) = q.parse::<IpAddr>() {
            Query::Ip(ip)
        } else if let Some(asn) = parse_asn(q) {
            Query::Asn(asn)
        } else if q.parse::<IpNet>().is_ok() {
            return Err(query_err(
                "give one address, not a network; e.g. the network's first address",
            ));
        } else {
            Query::Domain(normalise_domain(q).map_err(|m| query_err(&m))?)
        };
        let mut candidates = Vec::new();
        let attribution = match &parsed {
            Query::Ip(ip) => {
                let ip = *ip;
                for (net, i) in self.networks.covering(ip) {
                    let (owner, org) = self.org_owner(i);
                    candidates.push(Candidate {
                        rule: Rule::Prefix,
                        matched: net.to_string(),
                        owner,
                        note: format!("registered network of {} ({})", org.id, org.name),
                    });
                }
                if let Some((net, asn)) = self.routed.longest(ip) {
                    let (owner, note) = match self.asns.get(&asn) {
                        Some(&i) => {
                            let (owner, org) = self.org_owner(i);
                            let note = format!(
                                "routed by AS{asn} ({net}), registered to {} ({})",
                                org.id, org.name
                            );
                            (owner, note)
                        }
                        None => (
                            Owner::Unknown,
                            format!("routed by AS{asn} ({net}), not registered"),
                        ),
                    };
                    candidates.push(Candidate {
                        rule: Rule::Asn,
                        matched: format!("AS{asn}"),
                        owner,
                        note,
                    });
                }
                for (net, r) in self.abuse_networks.covering(ip) {
                    candidates.push(self.abuse_candidate(net.to_string(), r));
                }
                if let Some((_, asn)) = self.routed.longest(ip)
                    && let Some(&r) = self.abuse_asns.get(&asn)
                {
                    candidates.push(self.abuse_candidate(format!("AS{asn}"), r));
                }
                self.attribute(Some(ip), None, None)
            }
            Query::Asn(asn) => {
                if let Some(&i) = self.asns.get(asn) {
                    let (owner, org) = self.org_owner(i);
                    candidates.push(Candidate {
                        rule: Rule::Asn,
                        matched: format!("AS{asn}"),
                        owner,
                        note: format!("registered AS of {} ({})", org.id, org.name),
                    });
                }
                if let Some(&r) = self.abuse_asns.get(asn) {
                    candidates.push(self.abuse_candidate(format!("AS{asn}"), r));
                }
                self.attribute(None, Some(*asn), None)
            }
            Query::Domain(host) => {
                for suffix in suffixes(host) {
                    if let Some(i) = self.domains.get(suffix) {
                        let (owner, org) = self.org_owner(i);
                        candidates.push(Candidate {
                            rule: Rule::Domain,
                            matched: suffix.to_string(),
                            owner,
                            note: format!("registered domain of {} ({})", org.id, org.name),
                        });
                    }
                }
                self.attribute(None, None, Some(host))
            }
        };
        Ok(Lookup {
            query: parsed,
            attribution,
            candidates,
        })
    }

    fn abuse_candidate(&self, matched: String, r: u32) -> Candidate {
        let contact = &self.abuse[r as usize].contact;
        Candidate {
            rule: Rule::RegistryAbuse,
            matched,
            owner: Owner::Abuse(contact.clone()),
            note: format!("abuse contact {} from {}", contact.email, contact.via),
        }
    }
}

/// A map written by [`Writer::pairs`]: keys read by `key`, numbers below `below`.
/// The routing table's ranges, and the abuse records' networks and AS numbers (the first
/// record of an AS is kept).
fn index_sources(
    routed: Vec<RoutedPrefix>,
    abuse: &[AbuseRecord],
) -> (RangeMap, PrefixMap, Map<u32>) {
    let routed = PrefixMap::new(routed.into_iter().map(|r| (r.net, r.asn)).collect());
    let mut abuse_nets = Vec::new();
    let mut abuse_asns = Map::default();
    for (i, record) in abuse.iter().enumerate() {
        match record.scope {
            AbuseScope::Network(net) => abuse_nets.push((net, i as u32)),
            AbuseScope::Asn(asn) => {
                abuse_asns.entry(asn).or_insert(i as u32);
            }
        }
    }
    (routed.into_ranges(), PrefixMap::new(abuse_nets), abuse_asns)
}

fn read_numbers<'a, K: std::hash::Hash + Eq + fmt::Debug>(
    r: &mut Reader<'a>,
    below: Option<u32>,
    key: impl FnMut(&mut Reader<'a>) -> Result<K, SnapshotError>,
) -> Result<Map<K>, SnapshotError> {
    read_pairs(
        r,
        below,
        key,
        |n| Map::with_capacity_and_hasher(n, Default::default()),
        |map, k, v| map.insert(k, v).is_none(),
    )
}

fn read_domains(r: &mut Reader<'_>, below: Option<u32>) -> Result<Domains, SnapshotError> {
    read_pairs(r, below, Reader::str, Domains::with_capacity, |d, k, v| {
        d.insert(k, v).is_ok()
    })
}

/// A section of keys and numbers below `below`, each key once, into the table `new` makes
/// for their count; `insert` says whether a key was new.
fn read_pairs<'a, K: fmt::Debug, T>(
    r: &mut Reader<'a>,
    below: Option<u32>,
    mut key: impl FnMut(&mut Reader<'a>) -> Result<K, SnapshotError>,
    new: impl FnOnce(usize) -> T,
    mut insert: impl FnMut(&mut T, K, u32) -> bool,
) -> Result<T, SnapshotError> {
    // a key takes four bytes at least (an AS number, a string's length), and its number four
    let n = r.count(8)?;
    let mut table = new(n);
    for _ in 0..n {
        let at = r.offset();
        let k = key(r)?;
        let v = r.u32()?;
        if below.is_some_and(|b| v >= b) {
            return Err(Reader::corrupt_at(
                at,
                format!("{k:?} points at {v}, past the end"),
            ));
        }
        if !insert(&mut table, k, v) {
            return Err(Reader::corrupt_at(at, "a key that appears twice"));
        }
    }
    Ok(table)
}

/// Sizes of an [`Attributor`]'s tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Organisations in the registry.
    pub organisations: usize,
    /// Distinct registered networks.
    pub networks: usize,
    /// Registered AS numbers.
    pub asns: usize,
    /// Registered domains.
    pub domains: usize,
    /// Distinct routed prefixes.
    pub routed_prefixes: usize,
    /// Abuse records from public registry data.
    pub abuse_records: usize,
}

/// Formats an address or network for a reason line. IPv4 is written digit by digit: the
/// generic `Display` goes through the formatter once per octet and showed up as a third of
/// the time of [`Attributor::attribute`] in the lookup benchmark.
#[derive(Clone, Copy)]
struct Fast<T>(T);

impl fmt::Display for Fast<IpAddr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => DottedQuad(a).fmt(f),
            IpAddr::V6(a) => a.fmt(f),
        }
    }
}

impl fmt::Display for Fast<IpNet> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(n) => write!(f, "{}/{}", DottedQuad(n.addr()), n.prefix_len()),
            IpNet::V6(n) => n.fmt(f),
        }
    }
}

/// Lower-cases a host name and strips a trailing dot, without allocating when it already is.
fn normalise_host(host: &str) -> Cow<'_, str> {
    let h = host.trim().strip_suffix('.').unwrap_or(host.trim());
    if h.bytes().any(|b| b.is_ascii_uppercase()) || !h.is_ascii() {
        Cow::Owned(h.to_lowercase())
    } else {
        Cow::Borrowed(h)
    }
}

/// `www.a.example`, `a.example`, `example`: the suffixes at label boundaries, longest first.
fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::once(host)
        .chain(host.match_indices('.').map(|(i, _)| &host[i + 1..]))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_asn_is_the_longest_routed_prefix_whatever_the_registry() {
        let routed = vec![
            RoutedPrefix {
                net: "198.18.0.0/15".parse().unwrap(),
                asn: 64496,
            },
            RoutedPrefix {
                net: "198.18.4.0/24".parse().unwrap(),
                asn: 64497,
            },
        ];
        // a registered network over the address does not change what the routing table says
        let org: Organisation =
            toml::from_str("id = \"org-1\"\nname = \"One\"\nnetworks = [\"198.18.4.0/24\"]")
                .unwrap();
        let a = Attributor::new(vec![org], routed, vec![]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(a.routed_asn(ip("198.18.4.7")), Some(64497));
        assert_eq!(
            a.routed(ip("198.18.4.7")),
            Some(("198.18.4.0/24".parse().unwrap(), 64497))
        );
        assert_eq!(a.routed_asn(ip("198.19.255.255")), Some(64496));
        assert_eq!(a.routed_asn(ip("198.20.0.0")), None);
        assert_eq!(a.routed_asn(ip("2001:db8::1")), None);
    }

    #[test]
    fn fast_formatting_matches_display() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.100.255.9",
            "255.255.255.255",
            "198.18.4.7",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(Fast(ip).to_string(), ip.to_string());
        }
        for net in ["0.0.0.0/0", "198.18.4.0/24", "2001:db8::/32"] {
            let net: IpNet = net.parse().unwrap();
            assert_eq!(Fast(net).to_string(), net.to_string());
        }
    }
}
