//! Prometheus exposition of the `metrics` facade. One recorder per process: every app built in
//! it (tests build several) shares it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

impl Metrics {
    pub fn install() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new().build_recorder();
                let handle = recorder.handle();
                metrics::set_global_recorder(recorder).ok().map(|()| handle)
            })
            .clone();
        Self { handle }
    }

    pub fn render(&self) -> String {
        self.handle
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}
