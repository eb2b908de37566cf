//! Every setting once: its name, default, environment variable and a doc line. The CLI
//! (`gridpatrol --help`) and the README's configuration table are both derived from here.

use std::path::PathBuf;

use clap::Args;

/// Where the data lives; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Database URL: `postgres://user@host/db` for PostgreSQL, or a SQLite file path
    /// (optionally `sqlite://path`). Default: `<data-dir>/gridpatrol.sqlite`.
    #[arg(long, env = "GRIDPATROL_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the SQLite database (when no URL is given) and photos.
    #[arg(long, env = "GRIDPATROL_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database connections per process. Default: 8 on SQLite, 16 on PostgreSQL.
    #[arg(long, env = "GRIDPATROL_POOL_SIZE")]
    pub pool_size: Option<u32>,

    /// Argon2 memory cost in KiB for new password hashes (OWASP's 19 MiB by default;
    /// tests lower it to run fast, production should not).
    #[arg(long, env = "GRIDPATROL_ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,
}

impl StorageConfig {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => self
                .data_dir
                .join("gridpatrol.sqlite")
                .to_string_lossy()
                .into_owned(),
        }
    }

    pub fn pool_size(&self) -> u32 {
        self.pool_size
            .unwrap_or(match crate::db::backend_of(&self.database_url()) {
                crate::db::Backend::Sqlite => 8,
                crate::db::Backend::Pg => 16,
            })
    }
}

/// Settings of `gridpatrol serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub storage: StorageConfig,

    /// Address to listen on.
    #[arg(long, env = "GRIDPATROL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Load the demo district (Nanhai) when the database is empty.
    #[arg(long, env = "GRIDPATROL_DEMO", default_value_t = false)]
    pub demo: bool,

    /// With the demo district, also open a few hundred cases over the last 60 days, in
    /// every status (`--demo-cases false` to leave the case tables empty).
    #[arg(long, env = "GRIDPATROL_DEMO_CASES", default_value_t = true,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub demo_cases: bool,

    /// HTTP worker threads. Default: one per core.
    #[arg(long, env = "GRIDPATROL_WORKERS")]
    pub workers: Option<usize>,

    /// Lifetime of a login token, in hours.
    #[arg(long, env = "GRIDPATROL_TOKEN_TTL_HOURS", default_value_t = 12)]
    pub token_ttl_hours: i64,

    /// How long, in milliseconds, a process may reuse a token lookup (0: never). A token
    /// revoked on another server process works there for at most this long.
    #[arg(long, env = "GRIDPATROL_TOKEN_CACHE_MS", default_value_t = 2000)]
    pub token_cache_ms: u64,

    /// Failed logins from one client address within 15 minutes before that address is locked
    /// for 15 minutes (a name is locked at an address after 5).
    #[arg(long, env = "GRIDPATROL_LOGIN_ADDRESS_LIMIT", default_value_t = 30)]
    pub login_address_limit: i32,

    /// Behind a load balancer: the header whose last entry is the client's address (e.g.
    /// `X-Forwarded-For`); by default the connection's peer address is the client's.
    #[arg(long, env = "GRIDPATROL_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,

    /// Largest accepted JSON body, in bytes (larger answers 413).
    #[arg(long, env = "GRIDPATROL_JSON_LIMIT", default_value_t = 1024 * 1024)]
    pub json_limit: usize,

    /// Largest accepted photo upload, in bytes (larger answers 413).
    #[arg(long, env = "GRIDPATROL_PHOTO_LIMIT", default_value_t = 15 * 1024 * 1024)]
    pub photo_limit: usize,

    /// Largest accepted photo, in pixels, read from the image header before anything is
    /// decoded (larger answers 413). A handheld photo has 3 to 12 megapixels; 50 is
    /// generous. Two photos at this size may decode at once, the rest wait.
    #[arg(
        long,
        env = "GRIDPATROL_PHOTO_MAX_PIXELS",
        default_value_t = 50_000_000
    )]
    pub photo_max_pixels: u64,

    /// How often, in seconds, to look for a map changed by another process (an import,
    /// or another server behind the same load balancer) and rebuild the locate index.
    #[arg(long, env = "GRIDPATROL_MAP_REFRESH_SECS", default_value_t = 5)]
    pub map_refresh_secs: u64,

    /// How often, in seconds, to mark cases past their due time as overdue and escalate
    /// those overdue for longer than the grace.
    #[arg(long, env = "GRIDPATROL_OVERDUE_CHECK_SECS", default_value_t = 60)]
    pub overdue_check_secs: u64,

    /// How long, in seconds, a case may stay overdue at one tier before the system
    /// escalates it to the next (community → town → district).
    #[arg(long, env = "GRIDPATROL_ESCALATION_GRACE_SECS", default_value_t = 24 * 3600)]
    pub escalation_grace_secs: u64,
}
