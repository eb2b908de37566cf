//! The command line: serve, migrate, import. Everything else lives in the library.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use gridpatrol::config::{ServeConfig, StorageConfig};
use gridpatrol::{db, import};

#[derive(Parser)]
#[command(
    name = "gridpatrol",
    version,
    about = "Backend for community grid inspection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrations are applied first).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate(StorageConfig),
    /// Import a file; the whole file is validated first and refused if any part is bad.
    Import {
        what: ImportKind,
        file: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Departments,
    Checklist,
    Map,
    Users,
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("GRIDPATROL_LOG", "info"))
        .init();
    match Cli::parse().command {
        Command::Serve(config) => serve(config),
        Command::Migrate(storage) => {
            let pool = open(&storage)?;
            let applied = pool.migrate()?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Import {
            what,
            file,
            storage,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let pool = open(&storage)?;
            pool.migrate()?;
            let mut conn = pool.get()?;
            let outcome = match what {
                ImportKind::Departments => import::departments(&mut conn, &text),
                ImportKind::Checklist => import::checklist(&mut conn, &text),
                ImportKind::Map => import::map(&mut conn, &text),
                ImportKind::Users => import::users(&mut conn, &text, storage.argon2_memory_kib),
            };
            match outcome {
                Ok(summary) => {
                    println!("{summary}");
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    std::process::exit(1);
                }
            }
        }
        Command::Openapi => {
            println!("{}", gridpatrol::openapi::json());
            Ok(())
        }
    }
}

fn open(storage: &StorageConfig) -> anyhow::Result<db::Pool> {
    db::Pool::open(&storage.database_url(), storage.pool_size()).context("opening the database")
}

fn serve(config: ServeConfig) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let state = gridpatrol::prepare(&config)?;
        let listener = TcpListener::bind(&config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        log::info!(
            "gridpatrol listening on http://{} ({} cells in the locate index)",
            listener.local_addr()?,
            state.cells.load().len()
        );
        gridpatrol::server(state, listener, config.workers)?.await?;
        Ok(())
    })
}
