//! `--backlog`: what one worker process does with a full queue. Executions are queued through
//! the API while the worker process is stopped (SIGSTOP), then the worker is let go (SIGCONT)
//! and timed until it has finished them all. Nothing else runs meanwhile: no submissions, no
//! waiting callers, so the figures are the worker's own (its CPU, its memory, the provider calls
//! it keeps in flight). A flows service publishing a burst, or workers coming back after an
//! outage, look like this.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{self, Mode, Phase, Probe, Sampler, Target, Timeline};
use crate::prom;
use crate::service::Service;

pub struct Backlog<'a> {
    pub client: &'a reqwest::Client,
    pub worker: &'a Service,
    pub metrics_url: String,
    /// Submissions without waitMs (answered 202).
    pub target: Arc<Target>,
    /// Submissions in flight while filling.
    pub concurrency: usize,
    pub max_time: Duration,
}

pub struct Drained {
    /// SIGCONT to the last execution finished (to the 20 ms polling of /metrics).
    pub elapsed: Duration,
    /// Remaining executions (as "outstanding") and the probes, sampled while draining.
    pub timeline: Timeline,
    /// Whether every execution finished within the time bound.
    pub complete: bool,
}

impl Backlog<'_> {
    /// Stop the worker and queue `count` executions (numbered from `first`).
    pub async fn fill(&self, first: usize, count: usize) -> Result<Phase, String> {
        if !self.worker.signal("STOP").await {
            return Err("cannot stop the worker process (SIGSTOP)".into());
        }
        let mode = Mode::Closed {
            concurrency: self.concurrency,
        };
        Ok(load::run(
            self.target.clone(),
            mode,
            first,
            count,
            self.max_time,
            vec![],
        )
        .await)
    }

    /// Let the worker go and wait until `n` more executions have finished than in `before`
    /// (its /metrics, read before `fill`).
    pub async fn drain(&self, before: &[prom::Series], n: usize, probes: Vec<Probe>) -> Drained {
        let start = Instant::now();
        let remaining = Arc::new(AtomicUsize::new(n));
        let sampler = Sampler::start(start, remaining.clone(), probes, self.max_time);
        let complete = self.worker.signal("CONT").await
            && crate::wait_finished(
                self.client,
                &self.metrics_url,
                before,
                n,
                start + self.max_time,
                &remaining,
            )
            .await;
        let elapsed = start.elapsed();
        Drained {
            elapsed,
            timeline: sampler.finish().await,
            complete,
        }
    }
}
