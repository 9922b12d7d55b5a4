//! SQLite access. One writer connection, owned by a dedicated thread, and a small pool of reader
//! connections used from tokio's blocking pool: the async runtime never waits on the disk, and
//! WAL mode lets the readers run while the writer writes.
//!
//! The writer commits in groups: every write job waiting when a transaction starts runs in that
//! transaction, each inside its own savepoint (so one job's failure rolls back only that job),
//! and all of them are answered after the single commit. Under load this turns thousands of tiny
//! transactions per second into a few hundred larger ones, which is what SQLite is fast at.
//! Every transaction is `BEGIN IMMEDIATE`, so a job's reads and writes are atomic with respect to
//! other processes using the same file. Checkpoints are not the writer's: see [`crate::checkpoint`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use integrations_core::{Error, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::oneshot;
use tracing::error;

use crate::checkpoint::Checkpoints;
use crate::schema;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Jobs committed together at most; bounds how long one transaction holds the lock.
const MAX_GROUP: usize = 256;
/// Idle reader connections kept open.
/// Reader threads, each owning one connection for its lifetime: statements stay prepared and
/// no read ever pays for opening a connection (parsing the schema), nor for a thread hop through
/// tokio's blocking pool.
const READERS: usize = 4;
const STATEMENT_CACHE: usize = 64;

/// A failure inside a database job: SQLite's, or one of ours (bad stored data, a refused input).
#[derive(Debug)]
pub(crate) enum Failure {
    Sqlite(rusqlite::Error),
    Core(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Core(e) => e,
            Failure::Sqlite(e) => sqlite_error(e),
        }
    }
}

pub(crate) type DbResult<T> = std::result::Result<T, Failure>;

/// Lock contention and I/O trouble are worth retrying; anything else is a bug or corruption.
pub(crate) fn sqlite_error(e: rusqlite::Error) -> Error {
    let transient = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
        )
    );
    let mapped = if transient {
        Error::backend(format!("embedded database unavailable: {e}"))
    } else {
        Error::internal(format!("embedded database error: {e}"))
    };
    mapped.with_source(e)
}

/// A write job as the writer thread sees it: run inside the group's transaction, then answered
/// with the outcome of the commit.
trait WriteJob: Send {
    /// Returns whether the job succeeded (its savepoint is kept) or failed (rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    fn answer(self: Box<Self>, commit: std::result::Result<(), Error>);
}

struct Job<T, F> {
    work: Option<F>,
    outcome: Option<DbResult<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> DbResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(Error::internal("database job panicked").into()));
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, commit: std::result::Result<(), Error>) {
        let outcome = match (self.outcome, commit) {
            (Some(Ok(_)), Err(e)) | (None, Err(e)) => Err(e),
            (Some(outcome), _) => outcome.map_err(Error::from),
            (None, Ok(())) => Err(Error::internal("database job did not run")),
        };
        // The caller may have gone away (cancelled request): nothing to tell.
        let _ = self.reply.send(outcome);
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

pub(crate) struct Db {
    path: PathBuf,
    writer: mpsc::Sender<Box<dyn WriteJob>>,
    readers: mpsc::Sender<ReadJob>,
}

impl Db {
    /// Open (creating if needed) the database, migrate it and start the writer thread. Blocking.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = connect(path, false).map_err(sqlite_error)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sqlite_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::backend(format!(
                "{} cannot use WAL mode (got {mode})",
                path.display()
            )));
        }
        // Checkpoints leave the WAL file at its largest size; cap what stays on disk.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .map_err(sqlite_error)?;
        schema::migrate(&mut conn)?;
        let checkpoints = Checkpoints::start(&conn, connect(path, false).map_err(sqlite_error)?)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".to_string())
            .spawn(move || writer_loop(conn, rx, &checkpoints))
            .map_err(|e| Error::internal(format!("cannot start the database writer: {e}")))?;
        let (read_tx, read_rx) = mpsc::channel::<ReadJob>();
        let read_rx = Arc::new(Mutex::new(read_rx));
        for i in 0..READERS {
            let conn = connect(path, true).map_err(sqlite_error)?;
            let jobs = read_rx.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || reader_loop(conn, &jobs))
                .map_err(|e| Error::internal(format!("cannot start a database reader: {e}")))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            writer: tx,
            readers: read_tx,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Run `work` atomically in a write transaction (together with other jobs waiting at the
    /// same time, each isolated by a savepoint). The answer comes after the commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job {
            work: Some(work),
            outcome: None,
            reply,
        });
        if self.writer.send(job).is_err() {
            return Err(Error::backend("the database writer has stopped"));
        }
        answer
            .await
            .map_err(|_| Error::backend("the database writer has stopped"))?
    }

    /// Run `work` on a reader connection (a consistent snapshot for its duration).
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn: &Connection| {
            let _ = reply.send(work(conn).map_err(Error::from));
        });
        if self.readers.send(job).is_err() {
            return Err(Error::backend("the database readers have stopped"));
        }
        answer
            .await
            .map_err(|_| Error::backend("the database readers have stopped"))?
    }
}

/// Take read jobs one at a time from the shared channel until every sender is gone.
fn reader_loop(conn: Connection, jobs: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&conn),
            Err(_) => return,
        }
    }
}

fn connect(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL is durable against application crashes in WAL mode; only a power loss can undo the
    // last commits. That is the trade the throughput target needs.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 4 MB of page cache per connection (five of them): the hot pages are the queue and
    // recent executions; more only costs resident memory.
    conn.pragma_update(None, "cache_size", -4_000)?;
    if read_only {
        conn.pragma_update(None, "query_only", true)?;
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn writer_loop(
    conn: Connection,
    jobs: mpsc::Receiver<Box<dyn WriteJob>>,
    checkpoints: &Checkpoints,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let commit = run_group(&conn, &mut group);
        if let Err(e) = &commit {
            error!(error = %e, jobs = group.len(), "database write transaction failed");
        }
        for job in group {
            job.answer(commit.clone());
        }
        checkpoints.after_commit(&conn);
    }
}

fn run_group(conn: &Connection, group: &mut [Box<dyn WriteJob>]) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(sqlite_error)?;
    let result = (|| -> rusqlite::Result<()> {
        for job in group.iter_mut() {
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            if !job.run(conn) {
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
            }
            conn.prepare_cached("RELEASE job")?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    })();
    if let Err(e) = result {
        // Whatever the failure, leave no transaction open for the next group.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        return Err(sqlite_error(e));
    }
    Ok(())
}
