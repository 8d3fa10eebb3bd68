//! API tokens: who a request to the service acts for. A token is shown once, when made, and
//! stored only as its SHA-256; making and revoking one is audited.

use baken_model::OrgId;
use baken_store::TokenRecord;
use baken_store::audit::NewAuditEntry;
use sha2::{Digest, Sha256};

use crate::{App, AppError, Result, Viewer};

/// The prefix of every token, so that a leaked one is recognised (by secret scanners too).
pub const TOKEN_PREFIX: &str = "baken_";

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl App {
    /// Makes a token for `party` (a registry id; for an analyst, any name of the analyst's
    /// organisation), valid for `valid_for` when given. Returns its record and the token,
    /// which is not stored and cannot be shown again.
    pub fn create_token(
        &mut self,
        party: &str,
        analyst: bool,
        valid_for: Option<chrono::Duration>,
    ) -> Result<(TokenRecord, String)> {
        if party.trim().is_empty() {
            return Err(AppError::Usage("name the party the token acts for".into()));
        }
        if !analyst
            && self
                .attributor()?
                .organisation(&OrgId(party.into()))
                .is_none()
        {
            return Err(AppError::NotFound(format!(
                "{party}: no organisation with that id in the registry; a party's token acts \
                 for a registered party (an analyst's token takes --analyst)"
            )));
        }
        let secret: [u8; 32] = rand::random();
        let token = format!(
            "{TOKEN_PREFIX}{}",
            secret
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let expires = valid_for
            .map(|d| (chrono::Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let id = self
            .store
            .add_token(party, analyst, &token_hash(&token), expires.as_deref())?;
        self.store.append_audit(&[NewAuditEntry {
            kind: "token-created".into(),
            subject: party.into(),
            body: serde_json::json!({"token": id, "analyst": analyst, "expires_at": expires})
                .to_string(),
        }])?;
        let record = self
            .store
            .tokens()?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AppError::NotFound(format!("token {id} was stored but is gone")))?;
        Ok((record, token))
    }

    /// Every token (their hashes, never the tokens), oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.store.tokens()?)
    }

    /// Revokes token `id`: requests with it are refused from now on.
    pub fn revoke_token(&mut self, id: i64) -> Result<()> {
        if !self.store.revoke_token(id)? {
            return Err(AppError::NotFound(format!(
                "no token {id} that is not revoked already; `baken token list` lists them"
            )));
        }
        self.store.append_audit(&[NewAuditEntry {
            kind: "token-revoked".into(),
            subject: id.to_string(),
            body: serde_json::json!({"token": id}).to_string(),
        }])?;
        Ok(())
    }

    /// The party a valid `token` acts for (for an analyst's token, the analyst's
    /// organisation); [`AppError::Unauthorized`] as [`App::authenticate`].
    pub fn token_party(&self, token: &str) -> Result<String> {
        self.authenticate(token)?;
        self.store
            .token_by_hash(&token_hash(token))?
            .map(|t| t.party)
            .ok_or_else(|| AppError::Unauthorized("the token is not valid".into()))
    }

    /// Who `token` acts for; [`AppError::Unauthorized`] when it is unknown, revoked or
    /// expired (the reason is not told to the caller).
    pub fn authenticate(&self, token: &str) -> Result<Viewer> {
        let refused = || AppError::Unauthorized("the token is not valid".into());
        let record = self
            .store
            .token_by_hash(&token_hash(token))?
            .ok_or_else(refused)?;
        if record.revoked_at.is_some() {
            return Err(refused());
        }
        if let Some(until) = &record.expires_at {
            let until = chrono::DateTime::parse_from_rfc3339(until).map_err(|_| refused())?;
            if until <= chrono::Utc::now() {
                return Err(refused());
            }
        }
        Ok(if record.analyst {
            Viewer::Analyst
        } else {
            Viewer::Party(OrgId(record.party))
        })
    }
}
