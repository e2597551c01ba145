//! Who may do what: permissions, roles (a default set the operator may extend), the authenticated principal and
//! the tenant scope every repository and search call takes.
//!
//! A [`Scope`] can only be obtained from a [`Principal`] (its fields are private), and a principal is only built by
//! the authenticator in `kuzet-db` after it checked a session or a token: `cargo xtask tidy` refuses any other
//! caller of [`Principal::authenticated`] outside tests. So there is no way to query tenant data without an
//! authenticated identity, and the tenants a scope reaches are decided here, in one place.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;

use crate::{ModelError, ObjectId, TenantId, UserId};

/// Whether a permission is exercised within tenants (and so limited by the principal's tenant reach) or over the
/// ISOC as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionKind {
    Tenant,
    Global,
}

macro_rules! permissions {
    ($($variant:ident = $name:literal, $kind:ident, $doc:literal;)*) => {
        /// One thing a principal may do. Names are stable: they appear in configuration and in audit records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission {
            $(#[doc = $doc] $variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            pub fn kind(self) -> PermissionKind {
                match self {
                    $(Permission::$variant => PermissionKind::$kind,)*
                }
            }
        }
    };
}

permissions! {
    TenantsRead = "tenants.read", Tenant, "See a tenant, its facilities and retention.";
    TenantsManage = "tenants.manage", Global, "Create tenants and facilities.";
    SourcesRead = "sources.read", Tenant, "See a tenant's sources.";
    SourcesManage = "sources.manage", Tenant, "Create sources and their machine identities (tokens, certificates).";
    UsersManage = "users.manage", Global, "Create, disable and unlock users; assign roles and tenants.";
    GrantsManage = "grants.manage", Global, "Give NCCIS time-bounded read access to tenants (R19).";
    AuditRead = "audit.read", Global, "Read the audit trail.";
    EventsRead = "events.read", Tenant, "Search events, view one event and its seal proof.";
    EventsExport = "events.export", Tenant, "Export events in bulk.";
    IncidentsRead = "incidents.read", Tenant, "See incidents.";
    IncidentsManage = "incidents.manage", Tenant, "Triage alerts, work incidents.";
    ReportsRead = "reports.read", Tenant, "See reports.";
    AdvisoriesRead = "advisories.read", Tenant, "See the advisories that concern a tenant.";
    AssetsManage = "assets.manage", Tenant, "Keep a tenant's asset inventory (products, versions, addresses), which advisories are matched against.";
    AdvisoriesIssue = "advisories.issue", Global, "NCCIS hub: issue threat and vulnerability advisories to ISOCs (R18).";
    HubRead = "hub.read", Global, "NCCIS hub: see what the ISOCs reported (the national view).";
    HubManage = "hub.manage", Global, "NCCIS hub: register ISOCs by certificate and revoke them.";
    AccessRequest = "access.request", Global, "NCCIS hub: ask an ISOC for read access to a tenant's logs (R19).";
    IntelRead = "intel.read", Tenant, "Read a tenant's threat intelligence as STIX 2.1 (TAXII 2.1 collections, export): indicators, their sightings in its events, the vulnerabilities of its advisories, within their TLP markings.";
    IndicatorsRead = "indicators.read", Global, "See the threat-intelligence indicators detection matches: feeds, values, provenance, what did not load.";
    CrisisManage = "crisis.manage", Global, "NCCIS hub: convene the Operational Headquarters for a crisis (R11) and run its room: members, tasks, entries, closing.";
    NotificationsRead = "notifications.read", Tenant, "See the notifications sent to a tenant.";
    RulesManage = "rules.manage", Global, "Import, enable and disable detection rules.";
    ConfigRead = "config.read", Global, "Read the ISOC's settings.";
    ConfigManage = "config.manage", Global, "Change the ISOC's settings.";
    RetentionManage = "retention.manage", Tenant, "Change a tenant's retention (never below the legal floor).";
    ServiceOperate = "service.operate", Global, "Health, backups, upgrades: the service, never its content.";
    TokensOwn = "tokens.own", Global, "Create and revoke one's own API tokens, with at most one's own rights.";
    ArchivePurge = "archive.purge", Tenant, "Delete sealed logs. Held by no role: sealed data leaves only through the retention policy after its legal time (R3, R4).";
}

impl Permission {
    pub fn parse(name: &str) -> Result<Self, ModelError> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| ModelError::UnknownPermission(name.to_owned()))
    }

    /// Permissions that no role may ever hold: what the law forbids to everyone, administrators included (R4).
    pub fn is_grantable(self) -> bool {
        !matches!(self, Permission::ArchivePurge)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which tenants a role's tenant permissions reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantReach {
    /// Every tenant (ISOC staff roles that administer all of them).
    All,
    /// The tenants assigned to the user.
    Assigned,
    /// The tenants named in the user's active, time-bounded access grants (R19: NCCIS).
    Granted,
}

/// A role: a name, the permissions it carries, whose tenants they reach, and whether it needs multi-factor
/// authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub permissions: BTreeSet<Permission>,
    pub reach: TenantReach,
    /// Every role that can change configuration requires MFA.
    pub requires_mfa: bool,
}

impl Role {
    fn new(name: &str, reach: TenantReach, permissions: &[Permission]) -> Self {
        let permissions: BTreeSet<_> = permissions.iter().copied().collect();
        Self {
            name: name.to_owned(),
            requires_mfa: changes_configuration(&permissions),
            permissions,
            reach,
        }
    }
}

fn changes_configuration(permissions: &BTreeSet<Permission>) -> bool {
    permissions.iter().any(|p| {
        matches!(
            p,
            Permission::TenantsManage
                | Permission::SourcesManage
                | Permission::UsersManage
                | Permission::GrantsManage
                | Permission::RulesManage
                | Permission::ConfigManage
                | Permission::RetentionManage
                | Permission::ServiceOperate
                | Permission::AdvisoriesIssue
                | Permission::HubManage
                | Permission::AccessRequest
                | Permission::CrisisManage
        )
    })
}

/// The roles an ISOC knows: the default set below plus those the operator defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCatalog {
    roles: BTreeMap<String, Role>,
}

pub const ISOC_ADMIN: &str = "isoc-admin";
pub const ANALYST: &str = "analyst";
pub const TENANT_OWNER: &str = "tenant-owner";
pub const NCCIS_AUDITOR: &str = "nccis-auditor";
pub const AUDITOR: &str = "auditor";
pub const SYSTEM_ADMIN: &str = "system-admin";
pub const NCCIS_OFFICER: &str = "nccis-officer";

impl Default for RoleCatalog {
    fn default() -> Self {
        use Permission::*;
        let roles = [
            // Administers the ISOC but sees no tenant content, and cannot touch sealed logs or the audit trail.
            Role::new(
                ISOC_ADMIN,
                TenantReach::All,
                &[
                    TenantsRead,
                    TenantsManage,
                    SourcesRead,
                    SourcesManage,
                    UsersManage,
                    GrantsManage,
                    RulesManage,
                    IndicatorsRead,
                    ConfigRead,
                    ConfigManage,
                    RetentionManage,
                    AssetsManage,
                    HubManage,
                    TokensOwn,
                ],
            ),
            Role::new(
                ANALYST,
                TenantReach::Assigned,
                &[
                    TenantsRead,
                    SourcesRead,
                    EventsRead,
                    EventsExport,
                    IncidentsRead,
                    IncidentsManage,
                    ReportsRead,
                    AdvisoriesRead,
                    NotificationsRead,
                    IndicatorsRead,
                    IntelRead,
                    TokensOwn,
                ],
            ),
            Role::new(
                TENANT_OWNER,
                TenantReach::Assigned,
                &[
                    TenantsRead,
                    IncidentsRead,
                    ReportsRead,
                    AdvisoriesRead,
                    NotificationsRead,
                    AssetsManage,
                    IntelRead,
                    TokensOwn,
                ],
            ),
            Role::new(
                NCCIS_AUDITOR,
                TenantReach::Granted,
                &[TenantsRead, EventsRead, IncidentsRead, TokensOwn],
            ),
            Role::new(AUDITOR, TenantReach::All, &[AuditRead, TokensOwn]),
            Role::new(SYSTEM_ADMIN, TenantReach::All, &[ServiceOperate, TokensOwn]),
            // At the NCCIS hub: issues advisories to the ISOCs; sees no tenant of its own.
            Role::new(
                NCCIS_OFFICER,
                TenantReach::All,
                &[
                    HubRead,
                    AdvisoriesIssue,
                    AccessRequest,
                    CrisisManage,
                    TokensOwn,
                ],
            ),
        ];
        Self {
            roles: roles.into_iter().map(|r| (r.name.clone(), r)).collect(),
        }
    }
}

impl RoleCatalog {
    /// Adds an operator-defined role. Refuses a name of the default set, an unknown permission and any permission
    /// the law withholds from everyone.
    pub fn define(
        &mut self,
        name: &str,
        reach: TenantReach,
        permissions: &[String],
    ) -> Result<(), ModelError> {
        let invalid = |reason: String| ModelError::InvalidRole {
            role: name.to_owned(),
            reason,
        };
        if self.roles.contains_key(name) {
            return Err(invalid("already defined".into()));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "a role name is lowercase latin letters, digits and `-`".into(),
            ));
        }
        let mut set = Vec::new();
        for permission in permissions {
            let permission = Permission::parse(permission).map_err(|e| invalid(e.to_string()))?;
            if !permission.is_grantable() {
                return Err(invalid(format!(
                    "permission `{permission}` is held by no role: sealed logs may not be deleted before their \
                     legal time, administrators included (R3, R4)"
                )));
            }
            set.push(permission);
        }
        self.roles
            .insert(name.to_owned(), Role::new(name, reach, &set));
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    pub fn require(&self, name: &str) -> Result<&Role, ModelError> {
        self.get(name)
            .ok_or_else(|| ModelError::UnknownRole(name.to_owned()))
    }
}

/// A time-bounded read-access grant of one tenant to one user (R19: NCCIS asks, the ISOC grants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub id: ObjectId,
    pub user: UserId,
    pub tenant: TenantId,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub revoked: Option<Timestamp>,
    pub reason: String,
    pub granted_by: UserId,
}

impl AccessGrant {
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.revoked.is_none() && self.starts <= now && now < self.ends
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A console session (cookie). `csrf` is the token state-changing requests must echo.
    Session { session: ObjectId, csrf: String },
    /// An API token, limited to one role and to some tenants.
    Token {
        token: ObjectId,
        role: String,
        tenants: Option<BTreeSet<TenantId>>,
    },
}

/// What an authenticated principal still has to do before it may act (bootstrap and MFA enrolment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarding {
    Complete,
    /// A one-time or expired password: only the password change is open.
    ChangePassword,
    /// A role that needs MFA and none enrolled yet: only the enrolment is open.
    EnrolMfa,
}

/// An authenticated identity: a user (person or service account) with roles, assigned tenants and grants, and the
/// credential it used. Built only by the authenticator (see the module doc).
#[derive(Debug, Clone)]
pub struct Principal {
    user: UserId,
    roles: Vec<Role>,
    assigned: BTreeSet<TenantId>,
    grants: Vec<AccessGrant>,
    credential: Credential,
    onboarding: Onboarding,
}

/// The tenants a scope reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSet {
    All,
    Only(BTreeSet<TenantId>),
}

impl TenantSet {
    pub fn contains(&self, tenant: &TenantId) -> bool {
        match self {
            TenantSet::All => true,
            TenantSet::Only(set) => set.contains(tenant),
        }
    }

    fn union(&mut self, other: TenantSet) {
        match (self as &mut TenantSet, other) {
            (TenantSet::All, _) => {}
            (this, TenantSet::All) => *this = TenantSet::All,
            (TenantSet::Only(a), TenantSet::Only(b)) => a.extend(b),
        }
    }

    fn intersect(self, other: &BTreeSet<TenantId>) -> TenantSet {
        match self {
            TenantSet::All => TenantSet::Only(other.clone()),
            TenantSet::Only(set) => TenantSet::Only(set.intersection(other).cloned().collect()),
        }
    }
}

/// Why a principal may not do something. Rendered into audit records and API errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessDenied {
    #[error("user `{user}`: no role grants `{permission}`")]
    Permission {
        user: UserId,
        permission: Permission,
    },
    #[error("user `{user}`: `{permission}` does not reach tenant `{tenant}`")]
    Tenant {
        user: UserId,
        permission: Permission,
        tenant: TenantId,
    },
    #[error("user `{user}`: {what} first")]
    Onboarding { user: UserId, what: &'static str },
}

impl Principal {
    /// Only the authenticator in `kuzet-db` calls this, after checking the credential (enforced by the tidy test).
    /// A token's role must be one of the user's roles: the token carries at most the rights of its owner.
    pub fn authenticated(
        user: UserId,
        roles: Vec<Role>,
        assigned: BTreeSet<TenantId>,
        grants: Vec<AccessGrant>,
        credential: Credential,
        onboarding: Onboarding,
    ) -> Self {
        let roles = match &credential {
            Credential::Token { role, .. } => {
                roles.into_iter().filter(|r| &r.name == role).collect()
            }
            Credential::Session { .. } => roles,
        };
        Self {
            user,
            roles,
            assigned,
            grants,
            credential,
            onboarding,
        }
    }

    pub fn user(&self) -> &UserId {
        &self.user
    }
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|r| r.name.as_str())
    }
    pub fn credential(&self) -> &Credential {
        &self.credential
    }
    pub fn onboarding(&self) -> Onboarding {
        self.onboarding
    }
    pub fn assigned_tenants(&self) -> &BTreeSet<TenantId> {
        &self.assigned
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|r| r.permissions.contains(&permission))
    }

    /// The scope for exercising `permission` at `now`: the union of the tenant reach of every role that carries
    /// it, limited to a token's tenants. Refused before onboarding is complete.
    pub fn scope(&self, permission: Permission, now: Timestamp) -> Result<Scope, AccessDenied> {
        match self.onboarding {
            Onboarding::Complete => {}
            Onboarding::ChangePassword => {
                return Err(AccessDenied::Onboarding {
                    user: self.user.clone(),
                    what: "change the one-time password",
                });
            }
            Onboarding::EnrolMfa => {
                return Err(AccessDenied::Onboarding {
                    user: self.user.clone(),
                    what: "enrol multi-factor authentication",
                });
            }
        }
        let mut tenants: Option<TenantSet> = None;
        for role in self
            .roles
            .iter()
            .filter(|r| r.permissions.contains(&permission))
        {
            let reach = match (permission.kind(), role.reach) {
                (PermissionKind::Global, _) | (_, TenantReach::All) => TenantSet::All,
                (_, TenantReach::Assigned) => TenantSet::Only(self.assigned.clone()),
                (_, TenantReach::Granted) => TenantSet::Only(
                    self.grants
                        .iter()
                        .filter(|g| g.user == self.user && g.active_at(now))
                        .map(|g| g.tenant.clone())
                        .collect(),
                ),
            };
            match &mut tenants {
                None => tenants = Some(reach),
                Some(set) => set.union(reach),
            }
        }
        let Some(mut tenants) = tenants else {
            return Err(AccessDenied::Permission {
                user: self.user.clone(),
                permission,
            });
        };
        if let (
            PermissionKind::Tenant,
            Credential::Token {
                tenants: Some(limit),
                ..
            },
        ) = (permission.kind(), &self.credential)
        {
            tenants = tenants.intersect(limit);
        }
        Ok(Scope {
            user: self.user.clone(),
            permission,
            tenants,
        })
    }

    /// The scope for `permission` on one tenant, or why not.
    pub fn scope_for(
        &self,
        permission: Permission,
        tenant: &TenantId,
        now: Timestamp,
    ) -> Result<Scope, AccessDenied> {
        let scope = self.scope(permission, now)?;
        scope.check(tenant)?;
        Ok(scope)
    }
}

/// Proof that a principal may exercise one permission, and over which tenants. Every repository and search call
/// takes one; it cannot be built except through [`Principal::scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    user: UserId,
    permission: Permission,
    tenants: TenantSet,
}

impl Scope {
    pub fn user(&self) -> &UserId {
        &self.user
    }
    pub fn permission(&self) -> Permission {
        self.permission
    }
    pub fn tenants(&self) -> &TenantSet {
        &self.tenants
    }
    pub fn permits(&self, tenant: &TenantId) -> bool {
        self.tenants.contains(tenant)
    }
    pub fn check(&self, tenant: &TenantId) -> Result<(), AccessDenied> {
        if self.permits(tenant) {
            Ok(())
        } else {
            Err(AccessDenied::Tenant {
                user: self.user.clone(),
                permission: self.permission,
                tenant: tenant.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    fn principal(role: &str, assigned: &[&str], credential: Credential) -> Principal {
        let catalog = RoleCatalog::default();
        Principal::authenticated(
            UserId::new("u").unwrap(),
            vec![catalog.get(role).unwrap().clone()],
            assigned.iter().map(|s| t(s)).collect(),
            vec![AccessGrant {
                id: ObjectId::new("g1").unwrap(),
                user: UserId::new("u").unwrap(),
                tenant: t("granted"),
                starts: "2026-01-01T00:00:00Z".parse().unwrap(),
                ends: "2026-02-01T00:00:00Z".parse().unwrap(),
                revoked: None,
                reason: "r".into(),
                granted_by: UserId::new("admin").unwrap(),
            }],
            credential,
            Onboarding::Complete,
        )
    }

    fn session() -> Credential {
        Credential::Session {
            session: ObjectId::new("s").unwrap(),
            csrf: "c".into(),
        }
    }

    #[test]
    fn nobody_holds_archive_purge_and_operators_cannot_grant_it() {
        let catalog = RoleCatalog::default();
        assert!(
            catalog
                .roles()
                .all(|r| !r.permissions.contains(&Permission::ArchivePurge))
        );
        let mut catalog = catalog;
        let err = catalog
            .define("purger", TenantReach::All, &["archive.purge".into()])
            .unwrap_err();
        assert!(err.to_string().contains("R4"), "{err}");
        catalog
            .define("reader", TenantReach::Assigned, &["events.read".into()])
            .unwrap();
        assert!(!catalog.get("reader").unwrap().requires_mfa);
        assert!(catalog.get(ISOC_ADMIN).unwrap().requires_mfa);
        assert!(catalog.get(SYSTEM_ADMIN).unwrap().requires_mfa);
    }

    #[test]
    fn analyst_reaches_only_assigned_tenants() {
        let p = principal(ANALYST, &["a"], session());
        let now = "2026-01-10T00:00:00Z".parse().unwrap();
        let scope = p.scope(Permission::EventsRead, now).unwrap();
        assert!(scope.permits(&t("a")));
        assert!(!scope.permits(&t("b")));
        assert!(p.scope(Permission::UsersManage, now).is_err());
    }

    #[test]
    fn nccis_auditor_reaches_tenants_only_while_the_grant_is_active() {
        let p = principal(NCCIS_AUDITOR, &["a"], session());
        let inside = "2026-01-10T00:00:00Z".parse().unwrap();
        let after = "2026-02-01T00:00:00Z".parse().unwrap();
        let scope = p.scope(Permission::EventsRead, inside).unwrap();
        assert!(scope.permits(&t("granted")));
        // Assigned tenants do not count for a role that reaches by grant.
        assert!(!scope.permits(&t("a")));
        assert!(
            !p.scope(Permission::EventsRead, after)
                .unwrap()
                .permits(&t("granted"))
        );
    }

    #[test]
    fn a_token_is_limited_to_its_role_and_tenants() {
        let token = Credential::Token {
            token: ObjectId::new("tk").unwrap(),
            role: ANALYST.into(),
            tenants: Some([t("a")].into()),
        };
        let p = principal(ANALYST, &["a", "b"], token);
        let now = "2026-01-10T00:00:00Z".parse().unwrap();
        let scope = p.scope(Permission::EventsRead, now).unwrap();
        assert!(scope.permits(&t("a")) && !scope.permits(&t("b")));
        let wrong_role = Credential::Token {
            token: ObjectId::new("tk").unwrap(),
            role: ISOC_ADMIN.into(),
            tenants: None,
        };
        // A token naming a role its owner does not hold carries nothing.
        let p = principal(ANALYST, &["a"], wrong_role);
        assert!(p.scope(Permission::EventsRead, now).is_err());
    }

    #[test]
    fn onboarding_blocks_every_scope() {
        let catalog = RoleCatalog::default();
        let p = Principal::authenticated(
            UserId::new("admin").unwrap(),
            vec![catalog.get(ISOC_ADMIN).unwrap().clone()],
            BTreeSet::new(),
            vec![],
            session(),
            Onboarding::EnrolMfa,
        );
        let err = p
            .scope(Permission::TenantsRead, Timestamp::UNIX_EPOCH)
            .unwrap_err();
        assert!(err.to_string().contains("multi-factor"), "{err}");
    }
}
