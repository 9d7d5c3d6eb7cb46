//! The guides: how a host uses `twostep`, one page per job, their examples
//! compiled and run as the crate's tests.
//!
//! - [Company accounts](company_accounts): the help page's screens, the
//!   step call, companies and members, words in any language.
//! - [A web host](web_host): one page and one form handler, and what the
//!   host still owns.
//! - [Async hosts](async_hosts): `AsyncMfa` over the app's own sqlx pool,
//!   SQLite and PostgreSQL.
//! - [Storage](storage): the stores, your own store, your own transaction.
//! - [PostgreSQL in production](postgres_production): the settings, what
//!   the stores check, replicas, failover and poolers.
//! - [Security model](security_model): what is guaranteed, the keys, what
//!   the host does.
//! - [Compatibility](compatibility): authenticator apps, the algorithm
//!   alone, Rust versions and features.

pub mod company_accounts {
    #![doc = include_str!("company_accounts.md")]
}

pub mod web_host {
    #![doc = include_str!("web_host.md")]
}

pub mod async_hosts {
    #![doc = include_str!("async_hosts.md")]
}

pub mod storage {
    #![doc = include_str!("storage.md")]
}

pub mod postgres_production {
    #![doc = include_str!("postgres_production.md")]
}

pub mod security_model {
    #![doc = include_str!("security_model.md")]
}

pub mod compatibility {
    #![doc = include_str!("compatibility.md")]
}
