//! WAL checkpoints off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, on
//! the committing connection: the writer thread copies the WAL into the database and waits for
//! two fsyncs, and every job of that group (and every job queued behind it) waits with it. On a
//! VM disk that was the writer's largest stall (measured in docs/benchmarks.md). So the writer's
//! automatic checkpoint is off, a hook tells the writer how large the WAL is after each commit,
//! and a thread of its own with its own connection runs PASSIVE checkpoints (which never wait
//! for, nor block, the writer and the readers) once the WAL passes [`SOFT_PAGES`].
//!
//! Under a steady stream of commits a PASSIVE checkpoint seldom catches up with the last frame,
//! and SQLite only starts the WAL over from its beginning once everything in it was copied. So
//! past [`HARD_PAGES`] the writer checkpoints itself, after answering its group, as SQLite
//! would have: little is left to copy by then, and the WAL stays bounded.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use integrations_core::{Error, Result};
use rusqlite::hooks::Wal;
use rusqlite::Connection;
use tracing::warn;

/// SQLite's own automatic checkpoint threshold.
const SOFT_PAGES: c_int = 1_000;
/// The WAL's bound (about 40 MB of 4 KB pages) under sustained writes.
const HARD_PAGES: c_int = 10_000;

thread_local! {
    /// The WAL's size in pages after the last commit of this thread's connection, until read
    /// (the hook is a plain function, and it runs on the committing thread: the writer's).
    static WAL_PAGES: Cell<Option<c_int>> = const { Cell::new(None) };
}

fn note_wal_size(_: &Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|p| p.set(Some(pages)));
    Ok(())
}

/// The writer's side: owned by the writer thread; dropping it stops the checkpoint thread.
pub(crate) struct Checkpoints {
    wake: SyncSender<()>,
    /// The WAL's size when the checkpoint thread was last woken: it is woken again once the WAL
    /// has grown by [`SOFT_PAGES`] more, as often as SQLite would checkpoint (not after every
    /// commit while a WAL that cannot start over stays large).
    woken_at: Cell<c_int>,
    /// Held for each checkpoint: SQLite runs one at a time and a PASSIVE one that finds another
    /// running does nothing, so the writer waits for the thread's to end rather than letting
    /// the WAL grow past its bound while it runs.
    running: Arc<Mutex<()>>,
}

impl Checkpoints {
    /// Turn off `writer`'s automatic checkpoints and start the checkpoint thread, which owns
    /// `checkpointer` (a read-write connection to the same file).
    pub(crate) fn start(writer: &Connection, checkpointer: Connection) -> Result<Self> {
        // The pragma replaces any WAL hook, so it goes first.
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(crate::db::sqlite_error)?;
        writer.wal_hook(Some(note_wal_size));
        // One pending wake-up is enough: a checkpoint copies whatever the WAL holds when it runs.
        let (wake, wakes) = mpsc::sync_channel::<()>(1);
        let running = Arc::new(Mutex::new(()));
        let theirs = running.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_string())
            .spawn(move || {
                while wakes.recv().is_ok() {
                    if let Err(e) = passive(&checkpointer, &theirs) {
                        warn!(error = %e, "WAL checkpoint failed; the next one retries");
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            wake,
            woken_at: Cell::new(0),
            running,
        })
    }

    /// After a commit (and after its jobs were answered): wake the checkpoint thread each time
    /// the WAL has grown by [`SOFT_PAGES`], checkpoint here when past [`HARD_PAGES`].
    pub(crate) fn after_commit(&self, writer: &Connection) {
        // None: the group wrote nothing (or failed), so the WAL is as it was.
        let Some(pages) = WAL_PAGES.with(Cell::take) else {
            return;
        };
        if pages < self.woken_at.get() {
            // The WAL started over from its beginning.
            self.woken_at.set(0);
        }
        if pages >= HARD_PAGES {
            if let Err(e) = passive(writer, &self.running) {
                warn!(error = %e, pages, "WAL checkpoint by the writer failed");
            }
        } else if pages >= self.woken_at.get() + SOFT_PAGES {
            self.woken_at.set(pages);
            match self.wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    warn!(
                        "the checkpoint thread has stopped; the writer checkpoints past the bound"
                    )
                }
            }
        }
    }
}

/// A PASSIVE checkpoint: copies what no reader still needs, waiting for no reader nor writer
/// (only for the other side's checkpoint, through `running`).
fn passive(conn: &Connection, running: &Mutex<()>) -> rusqlite::Result<()> {
    let _one_at_a_time = running.lock().unwrap_or_else(PoisonError::into_inner);
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::db::Db;

    /// About one 4 KB page per row.
    async fn write_pages(db: &Db, rows: usize) {
        db.write(move |conn| {
            let mut insert =
                conn.prepare_cached("INSERT INTO pages (b) VALUES (zeroblob(4000))")?;
            for _ in 0..rows {
                insert.execute([])?;
            }
            Ok(())
        })
        .await
        .expect("write");
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// The writer's own checkpoint is off, so below the bound only the checkpoint thread can
    /// have copied the WAL into the database file; past it, the WAL stays bounded.
    #[tokio::test]
    async fn the_checkpoint_thread_copies_the_wal_and_the_wal_stays_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("db.sqlite");
        let db = Db::open(&path).expect("open");
        db.write(|conn| Ok(conn.execute_batch("CREATE TABLE pages (b BLOB)")?))
            .await
            .expect("table");
        let autocheckpoint: i64 = db
            .write(|conn| Ok(conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?))
            .await
            .expect("pragma");
        assert_eq!(autocheckpoint, 0, "the writer checkpoints on its own");

        let before = size(&path);
        write_pages(&db, 1_500).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while size(&path) < before + 1_000 * 4096 {
            assert!(Instant::now() < deadline, "no checkpoint copied the WAL");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Three times the bound, one 500-page group after another.
        for _ in 0..60 {
            write_pages(&db, 500).await;
        }
        let wal = dir.path().join("db.sqlite-wal");
        let frame = 4096 + 24;
        let bound = (HARD_PAGES as u64 + 2 * 500) * frame;
        assert!(size(&wal) <= bound, "WAL of {} bytes", size(&wal));
        let rows: i64 = db
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM pages", [], |r| r.get(0))?))
            .await
            .expect("count");
        assert_eq!(rows, 31_500);
    }
}
