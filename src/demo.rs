//! `valuepulse demo` (placeholder, being written).

/// Runs the demo.
pub async fn run(_listen: String) -> anyhow::Result<()> {
    anyhow::bail!("demo not yet implemented")
}
