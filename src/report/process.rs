//! The `process_*` metrics of this process, read from /proc at each report
//! by the Prometheus client's process collector, so their names and help
//! are those of every Prometheus client library: `process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`,
//! `process_threads`.

use prometheus::proto::MetricFamily;

/// The process families now (none off Linux, where there is no /proc).
pub fn families() -> Vec<MetricFamily> {
    #[cfg(target_os = "linux")]
    {
        use prometheus::core::Collector as _;
        use prometheus::process_collector::ProcessCollector;
        use std::sync::LazyLock;
        // One collector for the process's life: its CPU counter only moves
        // forward from what it saw last.
        static COLLECTOR: LazyLock<ProcessCollector> = LazyLock::new(ProcessCollector::for_self);
        COLLECTOR.collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}
