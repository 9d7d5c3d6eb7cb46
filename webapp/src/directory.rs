//! The host's own people: who they are, their password, their role. In a
//! real product this is the users table; here it lives in memory, seeded
//! at start. twostep never sees a password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// What a person is in the company account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// May force MFA on everyone and reset users' MFA.
    Owner,
    /// A user of the company account.
    User,
}

/// One person of the company account.
#[derive(Debug)]
pub struct Account {
    /// The sign-in name, and twostep's user id.
    pub email: String,
    /// The name shown.
    pub name: String,
    /// Owner or user.
    pub role: Role,
    password_hash: String,
}

/// The company account and its people.
#[derive(Debug)]
pub struct Directory {
    /// twostep's company id.
    pub company_id: String,
    /// The name shown, and the issuer in authenticator apps.
    pub company_name: String,
    accounts: Vec<Account>,
    /// Checked when the email is unknown, so that an unknown email costs
    /// what a wrong password costs (no account enumeration by timing).
    decoy_hash: String,
}

/// A person to seed: email, name, role and password.
pub struct Seed<'a> {
    /// The sign-in name.
    pub email: &'a str,
    /// The name shown.
    pub name: &'a str,
    /// Owner or user.
    pub role: Role,
    /// The password, hashed at once with Argon2id.
    pub password: &'a str,
}

impl Directory {
    /// The company `company_id` named `company_name` with `people`, their
    /// passwords hashed with Argon2id (OWASP's parameters: 19 MiB, 2 passes).
    ///
    /// # Errors
    /// If the system's random generator fails.
    pub fn new(
        company_id: &str,
        company_name: &str,
        people: &[Seed<'_>],
    ) -> Result<Directory, Box<dyn std::error::Error + Send + Sync>> {
        let accounts = people
            .iter()
            .map(|seed| {
                Ok(Account {
                    email: seed.email.to_owned(),
                    name: seed.name.to_owned(),
                    role: seed.role,
                    password_hash: hash(seed.password)?,
                })
            })
            .collect::<Result<_, Box<dyn std::error::Error + Send + Sync>>>()?;
        Ok(Directory {
            company_id: company_id.to_owned(),
            company_name: company_name.to_owned(),
            accounts,
            decoy_hash: hash("decoy")?,
        })
    }

    /// The account whose password this is, if any.
    pub fn check_password(&self, email: &str, password: &str) -> Option<&Account> {
        let account = self.find(email);
        let stored = account.map_or(&self.decoy_hash, |a| &a.password_hash);
        let matches = PasswordHash::new(stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        account.filter(|_| matches)
    }

    /// The account signed in as `email`.
    pub fn find(&self, email: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.email == email)
    }

    /// Everyone, in seeding order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The owners' emails.
    pub fn owners(&self) -> Vec<&str> {
        self.accounts
            .iter()
            .filter(|a| a.role == Role::Owner)
            .map(|a| a.email.as_str())
            .collect()
    }
}

fn hash(password: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string())
}
