//! Users, their roles and tenants; login with Argon2id passwords, TOTP and lockout; console sessions; API tokens;
//! NCCIS access grants. The authenticator: the only place that builds a [`Principal`].

use std::collections::BTreeSet;

use jiff::Timestamp;
use kuzet_model::access::{
    AccessGrant, Credential, Onboarding, Permission, Principal, Scope, TenantReach,
};
use kuzet_model::{ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::{require, require_permission};
use crate::secrets::{
    dummy_verify, hash_password, new_secret, new_totp_secret, one_time_password, otpauth_uri,
    random, sha256_hex, totp_step_matching, verify_password,
};
use crate::{Db, DbError};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub display_name: String,
    pub roles: Vec<String>,
    pub tenants: Vec<TenantId>,
}

/// A user as administrators see it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub display_name: String,
    pub roles: Vec<String>,
    pub tenants: Vec<TenantId>,
    pub mfa_enrolled: bool,
    pub must_change_password: bool,
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
    pub disabled: bool,
}

/// A console session just opened. `secret` goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub secret: String,
    pub principal: Principal,
    pub expires: Timestamp,
}

/// How a login attempt ended.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Success(Box<Session>),
    /// The password was right; the account has MFA and no code was given.
    MfaRequired,
    /// A wrong password or code (or an unknown user). `locked_now`: this failure locked the account.
    Failed {
        known_user: bool,
        locked_now: bool,
    },
    Locked {
        until: Timestamp,
    },
    Disabled,
}

/// What a user needs to set up an authenticator app.
#[derive(Debug, Clone)]
pub struct MfaEnrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

/// An API token to create: at most the rights of its owner, for at most the policy's lifetime.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub role: String,
    /// `None`: every tenant the role reaches for its owner.
    pub tenants: Option<Vec<TenantId>>,
    pub expires: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: ObjectId,
    pub user: UserId,
    pub name: String,
    pub role: String,
    pub tenants: Option<Vec<TenantId>>,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
}

/// An access grant to create (R19).
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub user: UserId,
    pub tenant: TenantId,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub reason: String,
}

/// The first statement of a change that could leave the ISOC without an enabled `isoc-admin`: a write to every
/// admin's row, which takes their row locks on PostgreSQL and the write lock on SQLite, so two such changes run
/// one after the other and each checks, in its own transaction, what the other left.
const LOCK_ADMINS: &str = "UPDATE users SET disabled = disabled WHERE id IN (SELECT user_id FROM user_roles WHERE role = $1)";
/// Enabled `isoc-admin`s, counted inside that transaction after the change.
const ENABLED_ADMINS: &str = "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
     WHERE r.role = $1 AND u.disabled = FALSE";

fn last_admin(user: &UserId) -> DbError {
    DbError::invalid(
        format!("user `{user}`"),
        "is the last enabled isoc-admin; make another one first",
    )
}

/// How often a session's last use (and a token's) is written back.
const TOUCH_EVERY_MS: i64 = 60_000;

fn corrupt(what: &'static str) -> impl Fn(kuzet_model::ModelError) -> DbError {
    move |e| DbError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

fn new_id() -> Result<ObjectId, DbError> {
    Ok(ObjectId::from_random(random::<16>()?))
}

/// The row the authenticator reads: (password_hash, must_change, totp_secret, totp_last_step, failed, locked_until,
/// disabled).
type AuthRow = (
    String,
    bool,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    bool,
);

impl Db {
    fn check_roles(&self, roles: &[String]) -> Result<(), DbError> {
        if roles.is_empty() {
            return Err(DbError::invalid("user", "needs at least one role"));
        }
        for role in roles {
            self.catalog
                .require(role)
                .map_err(|e| DbError::invalid("user", e.to_string()))?;
        }
        Ok(())
    }

    async fn insert_user(
        &self,
        user: &NewUser,
        password: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.check_roles(&user.roles)?;
        let given = password.to_owned();
        let hash = self
            .hashing(move |policy| hash_password(policy, &given))
            .await?;
        let object = format!("user `{}`", user.id);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("user"))?;
            sqlx::query("INSERT INTO users (id, display_name, password_hash, must_change_password, failed_logins, disabled, created_ms) VALUES ($1, $2, $3, TRUE, 0, FALSE, $4)")
                .bind(user.id.as_str()).bind(&user.display_name).bind(&hash).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::insert("user", object.clone()))?;
            for role in &user.roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                    .bind(user.id.as_str()).bind(role)
                    .execute(&mut *tx).await.map_err(DbError::query("user role"))?;
            }
            for tenant in &user.tenants {
                sqlx::query("INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2)")
                    .bind(user.id.as_str()).bind(tenant.as_str())
                    .execute(&mut *tx).await
                    .map_err(|_| DbError::NotFound(format!("tenant `{tenant}`")))?;
            }
            tx.commit().await.map_err(DbError::query("user"))?;
        });
        Ok(())
    }

    /// Creates the first `isoc-admin` when there are no users yet and returns its one-time password (to be shown
    /// once). `None` when users exist. For `kuzet init`, not for the API.
    pub async fn system_bootstrap_admin(
        &self,
        id: &UserId,
        now: Timestamp,
    ) -> Result<Option<String>, DbError> {
        let count: i64 = on_pool!(self, pool => sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM users")
            .fetch_one(pool).await.map_err(DbError::query("users"))?.0);
        if count > 0 {
            return Ok(None);
        }
        let password = one_time_password()?;
        let user = NewUser {
            id: id.clone(),
            display_name: "ISOC administrator".into(),
            roles: vec![kuzet_model::access::ISOC_ADMIN.into()],
            tenants: vec![],
        };
        self.insert_user(&user, &password, now).await?;
        Ok(Some(password))
    }

    /// Creates a user with a one-time password unless one of that name exists, and returns the password (to be
    /// shown once); `None` when the user exists. For `serve --demo`, which makes its demo people at its first run.
    pub async fn system_demo_user(
        &self,
        user: &NewUser,
        now: Timestamp,
    ) -> Result<Option<String>, DbError> {
        let exists: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM users WHERE id = $1")
            .bind(user.id.as_str()).fetch_optional(pool).await.map_err(DbError::query("users"))?);
        if exists.is_some() {
            return Ok(None);
        }
        let password = one_time_password()?;
        self.insert_user(user, &password, now).await?;
        Ok(Some(password))
    }

    /// How many users exist (for `kuzet init`, which creates the first).
    pub async fn user_count(&self) -> Result<i64, DbError> {
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM users")
            .fetch_one(pool).await.map_err(DbError::query("users"))?.0),
        )
    }

    /// Takes back what [`Db::system_bootstrap_admin`] created when `kuzet init` cannot finish (the data directory
    /// or the audit trail failed), so that running it again creates the administrator and shows a password. Only
    /// a bootstrap nobody has used: the sole user, still on its one-time password.
    pub async fn system_undo_bootstrap_admin(&self, id: &UserId) -> Result<(), DbError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("users"))?;
            let (others,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE id <> $1")
                .bind(id.as_str()).fetch_one(&mut *tx).await.map_err(DbError::query("users"))?;
            let fresh: Option<(bool,)> = sqlx::query_as("SELECT must_change_password FROM users WHERE id = $1")
                .bind(id.as_str()).fetch_optional(&mut *tx).await.map_err(DbError::query("users"))?;
            if others != 0 || fresh != Some((true,)) {
                return Err(DbError::Conflict(format!("user `{id}`: not an unused bootstrap administrator")));
            }
            for delete in ["DELETE FROM user_roles WHERE user_id = $1", "DELETE FROM user_tenants WHERE user_id = $1"] {
                sqlx::query(delete)
                    .bind(id.as_str()).execute(&mut *tx).await.map_err(DbError::query("users"))?;
            }
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id.as_str()).execute(&mut *tx).await.map_err(DbError::query("users"))?;
            tx.commit().await.map_err(DbError::query("users"))?;
        });
        Ok(())
    }

    /// Creates a user with a one-time password (returned, to hand over; it must be changed at first login).
    pub async fn create_user(
        &self,
        scope: &Scope,
        user: &NewUser,
        now: Timestamp,
    ) -> Result<String, DbError> {
        require_permission(scope, Permission::UsersManage)?;
        let password = one_time_password()?;
        self.insert_user(user, &password, now).await?;
        Ok(password)
    }

    /// Every user (for [`Permission::UsersManage`]).
    pub async fn users(&self, scope: &Scope) -> Result<Vec<UserRecord>, DbError> {
        Ok(self.users_page(scope, None, u32::MAX).await?.0)
    }

    /// A page of users by id (for [`Permission::UsersManage`]), and the next page's cursor when there is one:
    /// three queries whatever the page holds (the users, then the roles and the tenants of the page's users).
    pub async fn users_page(
        &self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<UserRecord>, Option<String>), DbError> {
        require_permission(scope, Permission::UsersManage)?;
        let request = crate::incidents::PageRequest::new(cursor, limit)?;
        // Users are sorted by id alone: the cursor's sort key is always 0.
        let after = request.after().map_or("", |(_, id)| id);
        type Row = (String, String, bool, Option<String>, i64, Option<i64>, bool);
        type Pairs = Vec<(String, String)>;
        const PAGE: &str = "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2";
        let (rows, roles, tenants): (Vec<Row>, Pairs, Pairs) = on_pool!(self, pool => (
            sqlx::query_as("SELECT id, display_name, must_change_password, totp_secret, failed_logins, locked_until_ms, disabled FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after).bind(request.fetch())
                .fetch_all(pool).await.map_err(DbError::query("users"))?,
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT user_id, role FROM user_roles WHERE user_id IN ({PAGE}) ORDER BY role")))
                .bind(after).bind(request.fetch())
                .fetch_all(pool).await.map_err(DbError::query("user roles"))?,
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT user_id, tenant_id FROM user_tenants WHERE user_id IN ({PAGE}) ORDER BY tenant_id")))
                .bind(after).bind(request.fetch())
                .fetch_all(pool).await.map_err(DbError::query("user tenants"))?,
        ));
        let users = rows
            .into_iter()
            .map(
                |(id, display_name, must_change, totp, failed, locked, disabled)| {
                    Ok(UserRecord {
                        roles: roles
                            .iter()
                            .filter(|(u, _)| *u == id)
                            .map(|(_, r)| r.clone())
                            .collect(),
                        tenants: tenants
                            .iter()
                            .filter(|(u, _)| *u == id)
                            .map(|(_, t)| TenantId::new(t.as_str()).map_err(corrupt("tenant id")))
                            .collect::<Result<_, _>>()?,
                        id: UserId::new(id).map_err(corrupt("user id"))?,
                        display_name,
                        mfa_enrolled: totp.is_some(),
                        must_change_password: must_change,
                        failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
                        locked_until: locked.map(ts),
                        disabled,
                    })
                },
            )
            .collect::<Result<Vec<_>, DbError>>()?;
        Ok(request.finish(users, |u| (0, u.id.to_string())))
    }

    async fn update_user(
        &self,
        scope: &Scope,
        id: &UserId,
        sql: &'static str,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::UsersManage)?;
        let changed = on_pool!(self, pool => sqlx::query(sql).bind(id.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        if changed == 0 {
            return Err(DbError::NotFound(format!("user `{id}`")));
        }
        Ok(())
    }

    /// Replaces a user's roles and assigned tenants (for [`Permission::UsersManage`]). Sessions and tokens of the user
    /// see the change on their next request. Refuses to leave the ISOC without an enabled `isoc-admin`.
    pub async fn set_user_access(
        &self,
        scope: &Scope,
        id: &UserId,
        roles: &[String],
        tenants: &[TenantId],
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::UsersManage)?;
        self.check_roles(roles)?;
        if self.auth_row(id.as_str()).await?.is_none() {
            return Err(DbError::NotFound(format!("user `{id}`")));
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("user access"))?;
            sqlx::query(LOCK_ADMINS).bind(kuzet_model::access::ISOC_ADMIN)
                .execute(&mut *tx).await.map_err(DbError::query("user roles"))?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("user roles"))?;
            sqlx::query("DELETE FROM user_tenants WHERE user_id = $1").bind(id.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("user tenants"))?;
            for role in roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                    .bind(id.as_str()).bind(role)
                    .execute(&mut *tx).await.map_err(DbError::query("user role"))?;
            }
            for tenant in tenants {
                sqlx::query("INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2)")
                    .bind(id.as_str()).bind(tenant.as_str())
                    .execute(&mut *tx).await
                    .map_err(|_| DbError::NotFound(format!("tenant `{tenant}`")))?;
            }
            let (admins,): (i64,) = sqlx::query_as(ENABLED_ADMINS).bind(kuzet_model::access::ISOC_ADMIN)
                .fetch_one(&mut *tx).await.map_err(DbError::query("user roles"))?;
            if admins == 0 {
                return Err(last_admin(id));
            }
            tx.commit().await.map_err(DbError::query("user access"))?;
        });
        Ok(())
    }

    /// Lifts a lockout and clears the failure count.
    pub async fn unlock_user(&self, scope: &Scope, id: &UserId) -> Result<(), DbError> {
        self.update_user(
            scope,
            id,
            "UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1",
        )
        .await
    }

    /// Disables a user and ends all its sessions. The last enabled `isoc-admin` cannot be disabled.
    pub async fn disable_user(
        &self,
        scope: &Scope,
        id: &UserId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::UsersManage)?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("user"))?;
            sqlx::query(LOCK_ADMINS).bind(kuzet_model::access::ISOC_ADMIN)
                .execute(&mut *tx).await.map_err(DbError::query("user roles"))?;
            let changed = sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1").bind(id.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("user"))?.rows_affected();
            if changed == 0 {
                return Err(DbError::NotFound(format!("user `{id}`")));
            }
            let (admins,): (i64,) = sqlx::query_as(ENABLED_ADMINS).bind(kuzet_model::access::ISOC_ADMIN)
                .fetch_one(&mut *tx).await.map_err(DbError::query("user roles"))?;
            if admins == 0 {
                return Err(last_admin(id));
            }
            tx.commit().await.map_err(DbError::query("user"))?;
        });
        self.revoke_all_sessions(id, now).await?;
        Ok(())
    }

    pub async fn enable_user(&self, scope: &Scope, id: &UserId) -> Result<(), DbError> {
        self.update_user(scope, id, "UPDATE users SET disabled = FALSE WHERE id = $1")
            .await
    }

    /// Sets a new one-time password (returned), removes the user's MFA and ends its sessions: for a user who lost
    /// both. The user enrols again at next login.
    pub async fn reset_credentials(
        &self,
        scope: &Scope,
        id: &UserId,
        now: Timestamp,
    ) -> Result<String, DbError> {
        require_permission(scope, Permission::UsersManage)?;
        let password = one_time_password()?;
        let given = password.clone();
        let hash = self
            .hashing(move |policy| hash_password(policy, &given))
            .await?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE users SET password_hash = $1, must_change_password = TRUE, totp_secret = NULL, totp_pending_secret = NULL, failed_logins = 0, locked_until_ms = NULL WHERE id = $2")
            .bind(&hash).bind(id.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        if changed == 0 {
            return Err(DbError::NotFound(format!("user `{id}`")));
        }
        self.revoke_all_sessions(id, now).await?;
        // A reset is for a user who lost their credentials: tokens made with them end too.
        self.revoke_all_tokens(id, now).await?;
        Ok(password)
    }

    async fn auth_row(&self, id: &str) -> Result<Option<AuthRow>, DbError> {
        Ok(
            on_pool!(self, pool => sqlx::query_as("SELECT password_hash, must_change_password, totp_secret, totp_last_step, failed_logins, locked_until_ms, disabled FROM users WHERE id = $1")
            .bind(id).fetch_optional(pool).await.map_err(DbError::query("user"))?),
        )
    }

    /// Runs a password hash or check on the blocking pool, at most `HASHING_AT_ONCE` at a time.
    pub(crate) async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce(&crate::AuthPolicy) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let permit = std::sync::Arc::clone(&self.hashing)
            .acquire_owned()
            .await
            .map_err(|e| DbError::Hashing(e.to_string()))?;
        let policy = std::sync::Arc::clone(&self.policy);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&policy)
        })
        .await
        .map_err(|e| DbError::Hashing(e.to_string()))?
    }

    /// One login attempt with a password and, for accounts with MFA, a TOTP code.
    ///
    /// Concurrent attempts cannot outrun the lockout: each attempt takes its place in the failure count (one atomic
    /// UPDATE) *before* the password is checked, so at most `lockout_threshold` checks run per lockout window
    /// however many arrive at once, and a one-time code is marked used by a compare-and-set, so it opens one
    /// session only.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        totp: Option<&str>,
        now: Timestamp,
    ) -> Result<LoginOutcome, DbError> {
        // The attempt takes its place in the failure count first; an open (unlocked, enabled) account only.
        let reserved: Option<(i64, String, Option<String>)> = on_pool!(self, pool => sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 AND disabled = FALSE \
             AND (locked_until_ms IS NULL OR locked_until_ms <= $2) RETURNING failed_logins, password_hash, totp_secret")
            .bind(user).bind(now.as_millisecond()).fetch_optional(pool).await.map_err(DbError::query("user"))?);
        let Some((attempt, hash, totp_secret)) = reserved else {
            return match self.auth_row(user).await? {
                None => {
                    let password = password.to_owned();
                    self.hashing(move |policy| {
                        dummy_verify(policy, &password);
                        Ok(())
                    })
                    .await?;
                    Ok(LoginOutcome::Failed {
                        known_user: false,
                        locked_now: false,
                    })
                }
                Some((.., true)) => Ok(LoginOutcome::Disabled),
                Some((.., locked_until, _)) => Ok(LoginOutcome::Locked {
                    until: locked_until.map_or(now, ts),
                }),
            };
        };
        let threshold = i64::from(self.policy.lockout_threshold);
        let until = now + self.policy.lockout_duration;
        let lock = |this: &Self| {
            let this = this.clone();
            let user = user.to_owned();
            async move {
                on_pool!(this, pool => sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = $1 WHERE id = $2")
                    .bind(until.as_millisecond()).bind(&user).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
                Ok::<_, DbError>(())
            }
        };
        if attempt > threshold {
            // Attempts running at once already used this window's checks: this one is not checked.
            lock(self).await?;
            return Ok(LoginOutcome::Locked { until });
        }
        let (stored, given) = (hash, password.to_owned());
        let mut ok = self
            .hashing(move |policy| verify_password(policy, &stored, &given))
            .await?;
        if ok && let Some(secret) = &totp_secret {
            let Some(code) = totp else {
                // The password was right: this attempt is not a failure.
                on_pool!(self, pool => sqlx::query("UPDATE users SET failed_logins = failed_logins - 1 WHERE id = $1 AND failed_logins > 0")
                    .bind(user).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
                return Ok(LoginOutcome::MfaRequired);
            };
            // A code is good once: marking its step used is a compare-and-set, so two logins with one code
            // cannot both pass.
            ok = match totp_step_matching(secret, code, now)? {
                Some(step) => {
                    on_pool!(self, pool => sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
                    .bind(step).bind(user).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?)
                        == 1
                }
                None => false,
            };
        }
        if !ok {
            let locks = attempt >= threshold;
            if locks {
                lock(self).await?;
            }
            return Ok(LoginOutcome::Failed {
                known_user: true,
                locked_now: locks,
            });
        }
        on_pool!(self, pool => sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1")
            .bind(user).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        let user_id = UserId::new(user).map_err(corrupt("user id"))?;
        let session_id = new_id()?;
        let secret = new_secret("kzs_")?;
        let csrf = hex::encode(random::<16>()?);
        let expires = now + self.policy.session_lifetime;
        on_pool!(self, pool => sqlx::query("INSERT INTO sessions (id, secret_sha256, user_id, csrf_token, created_ms, last_seen_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(session_id.as_str()).bind(sha256_hex(&secret)).bind(user).bind(&csrf)
            .bind(now.as_millisecond()).bind(now.as_millisecond()).bind(expires.as_millisecond())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("session"))?);
        let principal = self
            .principal(
                &user_id,
                Credential::Session {
                    session: session_id,
                    csrf,
                },
                now,
            )
            .await?
            .ok_or_else(|| DbError::NotFound(format!("user `{user}`")))?;
        Ok(LoginOutcome::Success(Box::new(Session {
            secret,
            principal,
            expires,
        })))
    }

    /// Builds the principal of `user` with `credential`: its roles, tenants, grants and onboarding state. `None`
    /// for a missing or disabled user.
    async fn principal(
        &self,
        user: &UserId,
        credential: Credential,
        now: Timestamp,
    ) -> Result<Option<Principal>, DbError> {
        let Some((_, must_change, totp_secret, _, _, _, disabled)) =
            self.auth_row(user.as_str()).await?
        else {
            return Ok(None);
        };
        if disabled {
            return Ok(None);
        }
        let (role_names, tenants, grants): (Vec<(String,)>, Vec<(String,)>, Vec<GrantRow>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1").bind(user.as_str())
                .fetch_all(pool).await.map_err(DbError::query("user roles"))?,
            sqlx::query_as("SELECT tenant_id FROM user_tenants WHERE user_id = $1").bind(user.as_str())
                .fetch_all(pool).await.map_err(DbError::query("user tenants"))?,
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {GRANT_COLUMNS} FROM access_grants WHERE user_id = $1 AND revoked_ms IS NULL AND ends_ms > $2")))
                .bind(user.as_str()).bind(now.as_millisecond())
                .fetch_all(pool).await.map_err(DbError::query("access grants"))?,
        ));
        let roles: Vec<_> = role_names
            .iter()
            .filter_map(|(name,)| {
                let role = self.catalog.get(name).cloned();
                if role.is_none() {
                    tracing::warn!(user = %user, role = name, "user holds a role this configuration does not define; ignored");
                }
                role
            })
            .collect();
        let onboarding = if must_change {
            Onboarding::ChangePassword
        } else if totp_secret.is_none() && roles.iter().any(|r| r.requires_mfa) {
            Onboarding::EnrolMfa
        } else {
            Onboarding::Complete
        };
        let assigned = tenants
            .into_iter()
            .map(|(t,)| TenantId::new(t).map_err(corrupt("tenant id")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let grants = grants
            .into_iter()
            .map(grant)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Principal::authenticated(
            user.clone(),
            roles,
            assigned,
            grants,
            credential,
            onboarding,
        )))
    }

    /// The principal of a session cookie, if the session is open (not revoked, not expired, not idle too long) and
    /// its user enabled. Marks the session used.
    pub async fn authenticate_session(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<Principal>, DbError> {
        let row: Option<(String, String, String, i64, i64, Option<i64>)> = on_pool!(self, pool => sqlx::query_as("SELECT id, user_id, csrf_token, last_seen_ms, expires_ms, revoked_ms FROM sessions WHERE secret_sha256 = $1")
            .bind(sha256_hex(secret)).fetch_optional(pool).await.map_err(DbError::query("session"))?);
        let Some((id, user, csrf, last_seen, expires, revoked)) = row else {
            return Ok(None);
        };
        let now_ms = now.as_millisecond();
        let idle_ms = self.policy.session_idle.as_millis() as i64;
        if revoked.is_some() || expires <= now_ms || last_seen + idle_ms <= now_ms {
            return Ok(None);
        }
        // Marking the session used is a durable write; once per `TOUCH_EVERY_MS` is enough for an idle timeout
        // counted in minutes, and spares every request a database commit.
        if now_ms - last_seen >= TOUCH_EVERY_MS {
            on_pool!(self, pool => sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE id = $2")
            .bind(now_ms).bind(&id).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("session"))?);
        }
        let credential = Credential::Session {
            session: ObjectId::new(id).map_err(corrupt("session id"))?,
            csrf,
        };
        self.principal(
            &UserId::new(user).map_err(corrupt("user id"))?,
            credential,
            now,
        )
        .await
    }

    /// The principal of an API token, if it is neither expired nor revoked and its user enabled.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<Principal>, DbError> {
        /// (id, user, role, all_tenants, expires, revoked, last_used)
        type TokenRow = (String, String, String, bool, i64, Option<i64>, Option<i64>);
        let row: Option<TokenRow> = on_pool!(self, pool => sqlx::query_as("SELECT id, user_id, role, all_tenants, expires_ms, revoked_ms, last_used_ms FROM api_tokens WHERE secret_sha256 = $1")
            .bind(sha256_hex(secret)).fetch_optional(pool).await.map_err(DbError::query("api token"))?);
        let Some((id, user, role, all_tenants, expires, revoked, last_used)) = row else {
            return Ok(None);
        };
        if revoked.is_some() || expires <= now.as_millisecond() {
            return Ok(None);
        }
        let tenants = if all_tenants {
            None
        } else {
            Some(self.token_tenants(&id).await?.into_iter().collect())
        };
        if last_used.is_none_or(|l| now.as_millisecond() - l >= TOUCH_EVERY_MS) {
            on_pool!(self, pool => sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
            .bind(now.as_millisecond()).bind(&id).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("api token"))?);
        }
        let credential = Credential::Token {
            token: ObjectId::new(id).map_err(corrupt("token id"))?,
            role,
            tenants,
        };
        self.principal(
            &UserId::new(user).map_err(corrupt("user id"))?,
            credential,
            now,
        )
        .await
    }

    async fn token_tenants(&self, token: &str) -> Result<Vec<TenantId>, DbError> {
        let rows: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT tenant_id FROM api_token_tenants WHERE token_id = $1 ORDER BY tenant_id")
            .bind(token).fetch_all(pool).await.map_err(DbError::query("api token tenants"))?);
        rows.into_iter()
            .map(|(t,)| TenantId::new(t).map_err(corrupt("tenant id")))
            .collect()
    }

    /// Changes the principal's own password after checking the current one and the policy.
    /// The language `user` chose for the console (`kk`, `ru`, `en`), if they chose one.
    pub async fn user_language(&self, user: &UserId) -> Result<Option<String>, DbError> {
        let row: Option<(Option<String>,)> = on_pool!(self, pool => sqlx::query_as("SELECT language FROM users WHERE id = $1")
            .bind(user.as_str()).fetch_optional(pool).await.map_err(DbError::query("user language"))?);
        Ok(row.and_then(|(language,)| language))
    }

    /// Remembers the language the signed-in user chose for the console; `None` forgets it. Only `kk`, `ru` and
    /// `en` are languages of the console.
    pub async fn set_language(
        &self,
        principal: &Principal,
        language: Option<&str>,
    ) -> Result<(), DbError> {
        if let Some(code) = language
            && kuzet_cases::Lang::parse(code).is_none()
        {
            return Err(DbError::invalid(
                format!("language `{code}`"),
                "expected kk, ru or en",
            ));
        }
        on_pool!(self, pool => sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
            .bind(language).bind(principal.user().as_str())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("user language"))?);
        Ok(())
    }

    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        end_tokens: bool,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let user = principal.user();
        let object = format!("user `{user}`");
        let (hash, ..) = self
            .auth_row(user.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(object.clone()))?;
        let given = current.to_owned();
        if !self
            .hashing(move |policy| verify_password(policy, &hash, &given))
            .await?
        {
            return Err(DbError::invalid(object, "the current password is wrong"));
        }
        if current == new {
            return Err(DbError::invalid(
                object,
                "the new password must differ from the current one",
            ));
        }
        self.policy
            .password
            .check(user.as_str(), new)
            .map_err(|reason| DbError::invalid(format!("new password of user `{user}`"), reason))?;
        let given = new.to_owned();
        let hash = self
            .hashing(move |policy| hash_password(policy, &given))
            .await?;
        on_pool!(self, pool => sqlx::query("UPDATE users SET password_hash = $1, must_change_password = FALSE WHERE id = $2")
            .bind(&hash).bind(user.as_str()).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        // Other sessions end: whoever knew the old password is out. Tokens too, when asked.
        self.end_other_sessions(principal, now).await?;
        if end_tokens {
            self.revoke_all_tokens(user, now).await?;
        }
        Ok(())
    }

    /// Ends every session of the principal's user but the one it uses.
    async fn end_other_sessions(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let current = match principal.credential() {
            Credential::Session { session, .. } => session.as_str().to_owned(),
            Credential::Token { .. } => String::new(),
        };
        on_pool!(self, pool => sqlx::query("UPDATE sessions SET revoked_ms = $1 WHERE user_id = $2 AND id <> $3 AND revoked_ms IS NULL")
            .bind(now.as_millisecond()).bind(principal.user().as_str()).bind(&current)
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("sessions"))?);
        Ok(())
    }

    /// Revokes every API token of a user (a reset, a password change that asks for it, a new second factor).
    async fn revoke_all_tokens(&self, user: &UserId, now: Timestamp) -> Result<u64, DbError> {
        Ok(
            on_pool!(self, pool => sqlx::query("UPDATE api_tokens SET revoked_ms = $1 WHERE user_id = $2 AND revoked_ms IS NULL")
            .bind(now.as_millisecond()).bind(user.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("api tokens"))?),
        )
    }

    /// Starts TOTP enrolment: a new secret, active once confirmed with a code. Replacing a factor already
    /// enrolled needs the password and a current code from it (`proof`): a stolen session alone cannot swap the
    /// owner's authenticator for the thief's.
    pub async fn begin_mfa_enrolment(
        &self,
        principal: &Principal,
        proof: Option<(&str, &str)>,
        now: Timestamp,
    ) -> Result<MfaEnrolment, DbError> {
        let user = principal.user();
        let object = format!("user `{user}`");
        let row: Option<(String, Option<String>)> = on_pool!(self, pool => sqlx::query_as("SELECT password_hash, totp_secret FROM users WHERE id = $1")
            .bind(user.as_str()).fetch_optional(pool).await.map_err(DbError::query("user"))?);
        let Some((hash, enrolled)) = row else {
            return Err(DbError::NotFound(object));
        };
        if let Some(current_secret) = enrolled {
            let Some((password, code)) = proof else {
                return Err(DbError::invalid(
                    object,
                    "a second factor is enrolled: replacing it needs your password and a current code from it",
                ));
            };
            let given = password.to_owned();
            let password_ok = self
                .hashing(move |policy| verify_password(policy, &hash, &given))
                .await?;
            let code_ok = match totp_step_matching(&current_secret, code, now)? {
                Some(step) if password_ok => {
                    on_pool!(self, pool => sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
                    .bind(step).bind(user.as_str()).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?)
                        == 1
                }
                _ => false,
            };
            if !password_ok || !code_ok {
                return Err(DbError::invalid(
                    object,
                    "wrong password or code: the enrolled factor stays",
                ));
            }
        }
        let secret = new_totp_secret()?;
        on_pool!(self, pool => sqlx::query("UPDATE users SET totp_pending_secret = $1 WHERE id = $2")
            .bind(&secret).bind(user.as_str()).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        Ok(MfaEnrolment {
            otpauth_uri: otpauth_uri(&secret, user.as_str()),
            secret_base32: secret,
        })
    }

    /// Confirms enrolment with a code from the new secret; from then on every login needs a code.
    pub async fn confirm_mfa_enrolment(
        &self,
        principal: &Principal,
        code: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let user = principal.user();
        let object = format!("user `{user}`");
        let pending: Option<(Option<String>, Option<String>)> = on_pool!(self, pool => sqlx::query_as("SELECT totp_pending_secret, totp_secret FROM users WHERE id = $1")
            .bind(user.as_str()).fetch_optional(pool).await.map_err(DbError::query("user"))?);
        let Some((Some(secret), current)) = pending else {
            return Err(DbError::invalid(
                object,
                "no multi-factor enrolment in progress",
            ));
        };
        if current.is_some() && principal.onboarding() != Onboarding::Complete {
            return Err(DbError::invalid(
                object,
                "multi-factor authentication is already enrolled",
            ));
        }
        let Some(step) = totp_step_matching(&secret, code, now)? else {
            return Err(DbError::invalid(
                object,
                "the code does not match the new secret",
            ));
        };
        on_pool!(self, pool => sqlx::query("UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = $1 WHERE id = $2")
            .bind(step).bind(user.as_str()).execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("user"))?);
        if current.is_some() {
            // A replaced factor: whoever held the old one is out, by session or by token.
            self.end_other_sessions(principal, now).await?;
            self.revoke_all_tokens(user, now).await?;
        }
        Ok(())
    }

    /// Ends the principal's session (a token is revoked with [`Db::revoke_api_token`]).
    pub async fn logout(&self, principal: &Principal, now: Timestamp) -> Result<(), DbError> {
        if let Credential::Session { session, .. } = principal.credential() {
            on_pool!(self, pool => sqlx::query("UPDATE sessions SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
                .bind(now.as_millisecond()).bind(session.as_str())
                .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("session"))?);
        }
        Ok(())
    }

    /// Ends every session of the principal's user, everywhere. Returns how many were open.
    pub async fn logout_everywhere(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        self.revoke_all_sessions(principal.user(), now).await
    }

    async fn revoke_all_sessions(&self, user: &UserId, now: Timestamp) -> Result<u64, DbError> {
        Ok(
            on_pool!(self, pool => sqlx::query("UPDATE sessions SET revoked_ms = $1 WHERE user_id = $2 AND revoked_ms IS NULL")
            .bind(now.as_millisecond()).bind(user.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("sessions"))?),
        )
    }

    /// Creates an API token for the principal (for [`Permission::TokensOwn`]): one of its own roles, within its own
    /// tenants, for at most the policy's lifetime. The secret is returned once.
    pub async fn create_api_token(
        &self,
        principal: &Principal,
        scope: &Scope,
        token: &NewApiToken,
        now: Timestamp,
    ) -> Result<(ApiTokenRecord, String), DbError> {
        require_permission(scope, Permission::TokensOwn)?;
        let user = principal.user();
        let object = format!("api token `{}`", token.name);
        if scope.user() != user {
            return Err(DbError::invalid(object, "a scope of another user"));
        }
        if !principal.roles().any(|r| r == token.role) {
            return Err(DbError::invalid(
                object,
                format!("user `{user}` does not hold role `{}`", token.role),
            ));
        }
        if matches!(principal.credential(), Credential::Token { .. }) {
            return Err(DbError::invalid(
                object,
                "a token cannot create tokens; log in",
            ));
        }
        if token.expires <= now || token.expires > now + self.policy.token_max_lifetime {
            return Err(DbError::invalid(
                object,
                "must expire in the future and within the longest token lifetime",
            ));
        }
        let role = self
            .catalog
            .require(&token.role)
            .map_err(|e| DbError::invalid(object.clone(), e.to_string()))?;
        if let Some(tenants) = &token.tenants
            && role.reach != TenantReach::All
        {
            for tenant in tenants {
                if !principal.assigned_tenants().contains(tenant)
                    && role.reach == TenantReach::Assigned
                {
                    return Err(DbError::NotFound(format!("tenant `{tenant}`")));
                }
            }
        }
        let id = new_id()?;
        let secret = new_secret("kzt_")?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("api token"))?;
            sqlx::query("INSERT INTO api_tokens (id, secret_sha256, user_id, name, role, all_tenants, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id.as_str()).bind(sha256_hex(&secret)).bind(user.as_str()).bind(&token.name).bind(&token.role)
                .bind(token.tenants.is_none()).bind(now.as_millisecond()).bind(token.expires.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::insert("api token", object.clone()))?;
            for tenant in token.tenants.iter().flatten() {
                sqlx::query("INSERT INTO api_token_tenants (token_id, tenant_id) VALUES ($1, $2)")
                    .bind(id.as_str()).bind(tenant.as_str())
                    .execute(&mut *tx).await.map_err(|_| DbError::NotFound(format!("tenant `{tenant}`")))?;
            }
            tx.commit().await.map_err(DbError::query("api token"))?;
        });
        let record = ApiTokenRecord {
            id,
            user: user.clone(),
            name: token.name.clone(),
            role: token.role.clone(),
            tenants: token.tenants.clone(),
            created: now,
            expires: token.expires,
            revoked: None,
            last_used: None,
        };
        Ok((record, secret))
    }

    /// The scope user's own API tokens, oldest first (never their secrets).
    pub async fn api_tokens(&self, scope: &Scope) -> Result<Vec<ApiTokenRecord>, DbError> {
        Ok(self.api_tokens_page(scope, None, u32::MAX).await?.0)
    }

    /// A page of the scope user's own API tokens, oldest first (ties by id), and the next page's cursor when
    /// there is one: two queries whatever the page holds (the tokens, then the tenants of all of them).
    pub async fn api_tokens_page(
        &self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ApiTokenRecord>, Option<String>), DbError> {
        require_permission(scope, Permission::TokensOwn)?;
        let request = crate::incidents::PageRequest::new(cursor, limit)?;
        let (after_ms, after_id) = request.after().unwrap_or((i64::MIN, ""));
        type Row = (
            String,
            String,
            String,
            String,
            bool,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
        );
        let user = scope.user().as_str();
        let (rows, tenants): (Vec<Row>, Vec<(String, String)>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT id, user_id, name, role, all_tenants, created_ms, expires_ms, revoked_ms, last_used_ms FROM api_tokens WHERE user_id = $1 AND (created_ms > $2 OR (created_ms = $2 AND id > $3)) ORDER BY created_ms, id LIMIT $4")
                .bind(user).bind(after_ms).bind(after_id).bind(request.fetch())
                .fetch_all(pool).await.map_err(DbError::query("api tokens"))?,
            sqlx::query_as("SELECT t.token_id, t.tenant_id FROM api_token_tenants t JOIN api_tokens k ON k.id = t.token_id WHERE k.user_id = $1 ORDER BY t.tenant_id")
                .bind(user).fetch_all(pool).await.map_err(DbError::query("api token tenants"))?,
        ));
        let mut by_token: std::collections::HashMap<&str, Vec<TenantId>> =
            std::collections::HashMap::new();
        for (token, tenant) in &tenants {
            by_token
                .entry(token.as_str())
                .or_default()
                .push(TenantId::new(tenant.as_str()).map_err(corrupt("tenant id"))?);
        }
        let mut out = Vec::with_capacity(rows.len());
        for (id, user, name, role, all, created, expires, revoked, last_used) in rows {
            let tenants = (!all).then(|| by_token.remove(id.as_str()).unwrap_or_default());
            out.push(ApiTokenRecord {
                id: ObjectId::new(id).map_err(corrupt("token id"))?,
                user: UserId::new(user).map_err(corrupt("user id"))?,
                name,
                role,
                tenants,
                created: ts(created),
                expires: ts(expires),
                revoked: revoked.map(ts),
                last_used: last_used.map(ts),
            });
        }
        Ok(request.finish(out, |t| (t.created.as_millisecond(), t.id.to_string())))
    }

    /// Revokes one of the scope user's own tokens; another user's token is "not found".
    pub async fn revoke_api_token(
        &self,
        scope: &Scope,
        id: &ObjectId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::TokensOwn)?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE api_tokens SET revoked_ms = COALESCE(revoked_ms, $1) WHERE id = $2 AND user_id = $3")
            .bind(now.as_millisecond()).bind(id.as_str()).bind(scope.user().as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("api token"))?);
        if changed == 0 {
            return Err(DbError::NotFound(format!("api token `{id}`")));
        }
        Ok(())
    }

    /// Grants a user of a by-grant role (`nccis-auditor`) read access to one tenant for a bounded time (R19).
    pub async fn create_grant(
        &self,
        scope: &Scope,
        grant: &NewGrant,
        now: Timestamp,
    ) -> Result<AccessGrant, DbError> {
        require(scope, Permission::GrantsManage, &grant.tenant)?;
        let object = format!(
            "grant of tenant `{}` to user `{}`",
            grant.tenant, grant.user
        );
        if grant.ends <= grant.starts || grant.ends <= now {
            return Err(DbError::invalid(
                object,
                "must end after it starts, in the future",
            ));
        }
        if grant.reason.trim().is_empty() {
            return Err(DbError::invalid(
                object,
                "needs a reason (the NCCIS request it answers)",
            ));
        }
        let roles: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(grant.user.as_str()).fetch_all(pool).await.map_err(DbError::query("user roles"))?);
        if roles.is_empty() {
            return Err(DbError::NotFound(format!("user `{}`", grant.user)));
        }
        if !roles.iter().any(|(r,)| {
            self.catalog
                .get(r)
                .is_some_and(|r| r.reach == TenantReach::Granted)
        }) {
            return Err(DbError::invalid(
                object,
                "the user holds no role that reaches tenants by grant (nccis-auditor)",
            ));
        }
        let id = new_id()?;
        on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO access_grants ({GRANT_COLUMNS}, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")))
            .bind(id.as_str()).bind(grant.user.as_str()).bind(grant.tenant.as_str())
            .bind(grant.starts.as_millisecond()).bind(grant.ends.as_millisecond()).bind(None::<i64>)
            .bind(&grant.reason).bind(scope.user().as_str()).bind(now.as_millisecond())
            .execute(pool).await.map(|r| r.rows_affected())
            .map_err(|_| DbError::NotFound(format!("tenant `{}`", grant.tenant)))?);
        Ok(AccessGrant {
            id,
            user: grant.user.clone(),
            tenant: grant.tenant.clone(),
            starts: grant.starts,
            ends: grant.ends,
            revoked: None,
            reason: grant.reason.clone(),
            granted_by: scope.user().clone(),
        })
    }

    /// Every grant (for [`Permission::GrantsManage`]), newest first.
    pub async fn grants(&self, scope: &Scope) -> Result<Vec<AccessGrant>, DbError> {
        Ok(self.grants_page(scope, None, u32::MAX).await?.0)
    }

    /// A page of the grants of the scope's tenants (for [`Permission::GrantsManage`]), newest first, and the
    /// next page's cursor when there is one. Grants of tenants outside the scope are skipped in the database's
    /// order, so pages stay full however the tenants interleave.
    pub async fn grants_page(
        &self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<AccessGrant>, Option<String>), DbError> {
        require_permission(scope, Permission::GrantsManage)?;
        let request = crate::incidents::PageRequest::new(cursor, limit)?;
        // Newest first: the cursor's key is the negated creation time, so "after" keeps meaning "greater".
        let (mut key, mut id) = request
            .after()
            .map_or((i64::MIN, String::new()), |(k, i)| (k, i.to_owned()));
        let mut page = Vec::new();
        loop {
            type Row = (
                String,
                String,
                String,
                i64,
                i64,
                Option<i64>,
                String,
                String,
                i64,
            );
            let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {GRANT_COLUMNS}, created_ms FROM access_grants WHERE -created_ms > $1 OR (-created_ms = $1 AND id > $2) ORDER BY created_ms DESC, id LIMIT $3")))
                .bind(key).bind(&id).bind(request.fetch())
                .fetch_all(pool).await.map_err(DbError::query("access grants"))?);
            let exhausted = i64::try_from(rows.len()).unwrap_or(i64::MAX) < request.fetch();
            for (gid, user, tenant, starts, ends, revoked, reason, by, created) in rows {
                (key, id) = (-created, gid.clone());
                let g = grant((gid, user, tenant, starts, ends, revoked, reason, by))?;
                if scope.permits(&g.tenant) {
                    page.push((g, -created));
                }
            }
            if exhausted || i64::try_from(page.len()).unwrap_or(i64::MAX) >= request.fetch() {
                break;
            }
        }
        let (page, next) = request.finish(page, |(g, key)| (*key, g.id.to_string()));
        Ok((page.into_iter().map(|(g, _)| g).collect(), next))
    }

    /// Ends a grant now.
    pub async fn revoke_grant(
        &self,
        scope: &Scope,
        id: &ObjectId,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::GrantsManage)?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE access_grants SET revoked_ms = COALESCE(revoked_ms, $1) WHERE id = $2")
            .bind(now.as_millisecond()).bind(id.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("access grant"))?);
        if changed == 0 {
            return Err(DbError::NotFound(format!("grant `{id}`")));
        }
        Ok(())
    }
}

const GRANT_COLUMNS: &str =
    "id, user_id, tenant_id, starts_ms, ends_ms, revoked_ms, reason, granted_by";
type GrantRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    String,
    String,
);

fn grant(
    (id, user, tenant, starts, ends, revoked, reason, by): GrantRow,
) -> Result<AccessGrant, DbError> {
    Ok(AccessGrant {
        id: ObjectId::new(id).map_err(corrupt("grant id"))?,
        user: UserId::new(user).map_err(corrupt("user id"))?,
        tenant: TenantId::new(tenant).map_err(corrupt("tenant id"))?,
        starts: ts(starts),
        ends: ts(ends),
        revoked: revoked.map(ts),
        reason,
        granted_by: UserId::new(by).map_err(corrupt("user id"))?,
    })
}
