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
        /// For `enterprises` from CSV: the licence CSV (uscc,kind,number,valid_from,valid_to,status).
        #[arg(long)]
        licences: Option<PathBuf>,
        /// For `enterprises`: refuse the whole file when any row is bad (default: good rows
        /// go in, bad rows are listed).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Write a deterministic enterprise library of any size (enterprises.csv and
    /// licences.csv) located in the cells of the stored map, for demos and benchmarks.
    Generate {
        #[arg(long, default_value_t = 2400)]
        count: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        out_dir: PathBuf,
        /// The date licences are judged against (YYYY-MM-DD); default today.
        #[arg(long)]
        today: Option<String>,
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
    Enterprises,
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
            licences,
            strict,
            storage,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let pool = open(&storage)?;
            pool.migrate()?;
            let mut conn = pool.get()?;
            let outcome = match what {
                ImportKind::Enterprises => {
                    let licences = licences
                        .map(|p| {
                            std::fs::read_to_string(&p)
                                .with_context(|| format!("cannot read {}", p.display()))
                        })
                        .transpose()?;
                    import_enterprises(&mut conn, &file, &text, licences.as_deref(), strict)
                }
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
        Command::Generate {
            count,
            seed,
            out_dir,
            today,
            storage,
        } => generate(&storage, count, seed, &out_dir, today),
        Command::Openapi => {
            println!("{}", gridpatrol::startup::openapi_json());
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
            state.map.load().len()
        );
        gridpatrol::server(state, listener, config.workers)?.await?;
        Ok(())
    })
}

/// Imports an enterprise library with progress on stderr and a summary on stdout; exits 1
/// when any row was refused (the good rows are in, unless --strict).
fn import_enterprises(
    conn: &mut db::Conn,
    file: &std::path::Path,
    text: &str,
    licences: Option<&str>,
    strict: bool,
) -> Result<String, import::ImportError> {
    use gridpatrol::enterprises::import as library;
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        library::parse_json(text)
    } else {
        library::parse_csv(text, licences)
    };
    let (records, problems) = parsed.map_err(|e| import::ImportError::Refused(vec![e]))?;
    let cells = gridpatrol::grid::store::load_index(conn)?;
    let total = records.len();
    let started = std::time::Instant::now();
    let summary = import::enterprises(conn, &records, problems, strict, &cells, |done| {
        eprint!(
            "\r  {done} / {total} enterprises ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    })?;
    eprintln!();
    for p in &summary.problems {
        eprintln!("  refused: {p}");
    }
    let line = format!(
        "enterprises: {} inserted, {} updated, {} refused; {} licences; {:.1} s",
        summary.inserted,
        summary.updated,
        summary.refused,
        summary.licences,
        started.elapsed().as_secs_f64()
    );
    if summary.refused > 0 {
        println!("{line}");
        return Err(import::ImportError::Refused(vec![format!(
            "{} row(s) refused",
            summary.refused
        )]));
    }
    Ok(line)
}

fn generate(
    storage: &StorageConfig,
    count: usize,
    seed: u64,
    out_dir: &std::path::Path,
    today: Option<String>,
) -> anyhow::Result<()> {
    use gridpatrol::demo::enterprises as generator;
    let today = match today {
        Some(t) => chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .context("--today must be YYYY-MM-DD")?,
        None => gridpatrol::clock::today(),
    };
    let pool = open(storage)?;
    pool.migrate()?;
    let mut conn = pool.get()?;
    let areas = generator::cell_areas(&mut conn)?;
    anyhow::ensure!(
        !areas.is_empty(),
        "the database has no map: import one (or serve --demo) first"
    );
    let library = generator::generate(seed, count, &areas, today);
    std::fs::create_dir_all(out_dir)?;
    let create = |name: &str| {
        let path = out_dir.join(name);
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))
    };
    generator::write_csv(
        &library,
        create("enterprises.csv")?,
        create("licences.csv")?,
    )?;
    let licence_count: usize = library.iter().map(|(_, licences)| licences.len()).sum();
    println!(
        "wrote {} enterprises and {licence_count} licences to {}",
        library.len(),
        out_dir.display()
    );
    Ok(())
}
