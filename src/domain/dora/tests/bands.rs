//! The DORA report grades with the bands it is given.

use super::scenario;
use crate::domain::dora::*;
use crate::domain::tier::{DoraBands, Edge, MetricBands, Preset, Tier, TierMetric};

use TierMetric::*;

#[test]
fn the_report_grades_the_hand_checked_scenario_with_the_configured_preset() {
    // The scenario's longest window: 4 deployments in 30 days (0.133/day),
    // median lead time 3 h, strict change failure 0.5, median restore 2 h.
    let tiers = |bands: DoraBands| {
        let s = scenario(FailedDeploys::Ignore).with_bands(bands);
        let r = s.report(super::NOW);
        (r.bands, r.series[0].tiers.clone())
    };
    assert_eq!(
        tiers(DoraBands::default()),
        (
            "valuepulse",
            vec![
                (DeploymentFrequency, Tier::Medium),
                (LeadTime, Tier::Elite),
                (ChangeFailureRate, Tier::Low),
                (TimeToRestore, Tier::High),
            ]
        )
    );
    // DORA 2021: once a month is already high; a 3 h lead time is not
    // under an hour.
    assert_eq!(
        tiers(Preset::Dora2021.bands()),
        (
            "dora_2021",
            vec![
                (DeploymentFrequency, Tier::High),
                (LeadTime, Tier::High),
                (ChangeFailureRate, Tier::Low),
                (TimeToRestore, Tier::High),
            ]
        )
    );
    assert_eq!(
        tiers(Preset::Dora2024.bands()).1,
        vec![
            (DeploymentFrequency, Tier::Medium),
            (LeadTime, Tier::Elite),
            (ChangeFailureRate, Tier::Low),
            (TimeToRestore, Tier::High),
        ]
    );
    // Custom: change failure up to 60 % is medium.
    let lenient = MetricBands {
        elite: Edge::inclusive(0.1),
        high: Edge::inclusive(0.3),
        medium: Edge::inclusive(0.6),
    };
    let d = DoraBands::default();
    let custom = DoraBands::custom(
        d.deployment_frequency,
        d.lead_time,
        lenient,
        d.time_to_restore,
    )
    .unwrap();
    let (label, t) = tiers(custom);
    assert_eq!(label, "custom");
    assert_eq!(t[2], (ChangeFailureRate, Tier::Medium));
}
