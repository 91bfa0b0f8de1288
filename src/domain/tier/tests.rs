//! The tier bands at their edges.

use super::*;

#[test]
fn deployment_frequency_bands_include_their_lower_bound() {
    assert_eq!(deployment_frequency(1.0), Tier::Elite);
    assert_eq!(deployment_frequency(0.999), Tier::High);
    assert_eq!(deployment_frequency(1.0 / 7.0), Tier::High);
    assert_eq!(deployment_frequency(1.0 / 7.0 - 1e-9), Tier::Medium);
    assert_eq!(deployment_frequency(1.0 / 30.0), Tier::Medium);
    assert_eq!(deployment_frequency(1.0 / 30.0 - 1e-9), Tier::Low);
    assert_eq!(deployment_frequency(0.0), Tier::Low);
}

#[test]
fn lead_time_bands_exclude_their_upper_bound() {
    assert_eq!(lead_time(DAY - 1.0), Tier::Elite);
    assert_eq!(lead_time(DAY), Tier::High);
    assert_eq!(lead_time(7.0 * DAY), Tier::Medium);
    assert_eq!(lead_time(30.0 * DAY), Tier::Low);
}

#[test]
fn change_failure_bands_include_their_upper_bound() {
    assert_eq!(change_failure_rate(0.0), Tier::Elite);
    assert_eq!(change_failure_rate(0.05), Tier::Elite);
    assert_eq!(change_failure_rate(0.0501), Tier::High);
    assert_eq!(change_failure_rate(0.10), Tier::High);
    assert_eq!(change_failure_rate(0.15), Tier::Medium);
    assert_eq!(change_failure_rate(0.1501), Tier::Low);
    assert_eq!(change_failure_rate(1.0), Tier::Low);
}

#[test]
fn time_to_restore_bands_exclude_their_upper_bound() {
    assert_eq!(time_to_restore(HOUR - 1.0), Tier::Elite);
    assert_eq!(time_to_restore(HOUR), Tier::High);
    assert_eq!(time_to_restore(DAY), Tier::Medium);
    assert_eq!(time_to_restore(7.0 * DAY), Tier::Low);
}

/// The default bands are valuepulse's own, and every preset passes its
/// own validation.
#[test]
fn default_is_the_valuepulse_preset_and_every_preset_is_valid() {
    assert_eq!(DoraBands::default(), Preset::Valuepulse.bands());
    assert_eq!(DoraBands::default().label(), "valuepulse");
    for p in Preset::ALL {
        let b = p.bands();
        assert_eq!(b.preset, Some(p));
        assert_eq!(b.label(), p.as_str());
        assert_eq!(b.validate(), Ok(()), "{p:?}");
        assert_eq!(Preset::from_name(p.as_str()), Some(p));
    }
    assert_eq!(Preset::from_name("custom"), None);
    assert_eq!(Preset::from_name("DORA_2021"), None);
}

/// Each preset at the edges its source states (see presets.rs).
#[test]
fn presets_grade_their_published_edges() {
    use TierMetric::*;
    let fw = Preset::Framework.bands();
    let d21 = Preset::Dora2021.bands();
    let d24 = Preset::Dora2024.bands();
    // Framework: elite lead time under 1 h; change failure under 15 %
    // (exactly 15 % is high), recovery under 1 h.
    assert_eq!(fw.grade(LeadTime, HOUR - 1.0), Tier::Elite);
    assert_eq!(fw.grade(LeadTime, HOUR), Tier::High);
    assert_eq!(fw.grade(ChangeFailureRate, 0.1499), Tier::Elite);
    assert_eq!(fw.grade(ChangeFailureRate, 0.15), Tier::High);
    assert_eq!(fw.grade(TimeToRestore, HOUR - 1.0), Tier::Elite);
    assert_eq!(fw.grade(DeploymentFrequency, 1.0), Tier::Elite);
    // DORA 2021: 0-15 % is elite, 15 % included; high and medium share
    // 16-30 %: medium is empty, above 30 % is low.
    assert_eq!(d21.grade(ChangeFailureRate, 0.15), Tier::Elite);
    assert_eq!(d21.grade(ChangeFailureRate, 0.30), Tier::High);
    assert_eq!(d21.grade(ChangeFailureRate, 0.3001), Tier::Low);
    // Lead time: 1 day – 1 week is high, the gap up to a month falls to
    // medium, which ends at six months.
    assert_eq!(d21.grade(LeadTime, 3.0 * DAY), Tier::High);
    assert_eq!(d21.grade(LeadTime, 10.0 * DAY), Tier::Medium);
    assert_eq!(d21.grade(LeadTime, 180.0 * DAY - 1.0), Tier::Medium);
    assert_eq!(d21.grade(LeadTime, 180.0 * DAY), Tier::Low);
    // Frequency: once a week is high (≥ once a month), once a quarter
    // medium, once a year low.
    assert_eq!(d21.grade(DeploymentFrequency, 1.0 / 7.0), Tier::High);
    assert_eq!(d21.grade(DeploymentFrequency, 1.0 / 30.0), Tier::High);
    assert_eq!(d21.grade(DeploymentFrequency, 1.0 / 90.0), Tier::Medium);
    assert_eq!(d21.grade(DeploymentFrequency, 1.0 / 180.0), Tier::Medium);
    assert_eq!(d21.grade(DeploymentFrequency, 1.0 / 365.0), Tier::Low);
    // DORA 2024: change fail 5 % elite, up to 20 % high (medium's 10 %
    // is better than high's 20 %: medium empty), above low.
    assert_eq!(d24.grade(ChangeFailureRate, 0.05), Tier::Elite);
    assert_eq!(d24.grade(ChangeFailureRate, 0.10), Tier::High);
    assert_eq!(d24.grade(ChangeFailureRate, 0.20), Tier::High);
    assert_eq!(d24.grade(ChangeFailureRate, 0.2001), Tier::Low);
    // Recovery: < 1 h elite, < 1 day high (and medium), else low.
    assert_eq!(d24.grade(TimeToRestore, HOUR), Tier::High);
    assert_eq!(d24.grade(TimeToRestore, DAY), Tier::Low);
    assert_eq!(d24.grade(LeadTime, DAY - 1.0), Tier::Elite);
    assert_eq!(d24.grade(LeadTime, 29.0 * DAY), Tier::Medium);
    // A team deploying once every working day averages 5/7 a day: high.
    assert_eq!(d24.grade(DeploymentFrequency, 5.0 / 7.0), Tier::High);
    assert_eq!(d24.grade(DeploymentFrequency, f64::NAN), Tier::Low);
}

fn m(elite: f64, high: f64, medium: f64) -> MetricBands {
    MetricBands {
        elite: Edge::inclusive(elite),
        high: Edge::inclusive(high),
        medium: Edge::inclusive(medium),
    }
}

fn custom_with(metric: TierMetric, b: MetricBands) -> Result<DoraBands, BandsError> {
    let d = DoraBands::default();
    let pick = |x: TierMetric| if x == metric { b } else { *d.of(x) };
    DoraBands::custom(
        pick(TierMetric::DeploymentFrequency),
        pick(TierMetric::LeadTime),
        pick(TierMetric::ChangeFailureRate),
        pick(TierMetric::TimeToRestore),
    )
}

#[test]
fn custom_bands_are_validated_and_errors_name_the_edge() {
    use TierMetric::*;
    let ok = custom_with(ChangeFailureRate, m(0.0, 0.5, 1.0)).unwrap();
    assert_eq!(ok.label(), "custom");
    assert_eq!(ok.grade(ChangeFailureRate, 0.0), Tier::Elite);
    assert_eq!(ok.grade(ChangeFailureRate, 1.0), Tier::Medium);

    let err = custom_with(LeadTime, m(DAY, HOUR, WEEK)).unwrap_err();
    assert_eq!(
        err,
        BandsError::NotMonotonic {
            field: BandField {
                metric: LeadTime,
                tier: Tier::High
            },
            value: HOUR,
            previous: BandField {
                metric: LeadTime,
                tier: Tier::Elite
            },
            previous_value: DAY,
        }
    );
    assert!(err.to_string().starts_with("lead_time.high: 3600"), "{err}");

    // Higher is better for frequency: a medium edge above high is wrong.
    let err = custom_with(DeploymentFrequency, m(1.0, 0.1, 0.5)).unwrap_err();
    assert!(
        matches!(err, BandsError::NotMonotonic { field, .. } if field.to_string() == "deployment_frequency.medium"),
        "{err:?}"
    );
    let err = custom_with(ChangeFailureRate, m(0.05, 0.1, 1.5)).unwrap_err();
    assert!(
        matches!(err, BandsError::OutOfRange { field, .. } if field.to_string() == "change_failure_rate.medium"),
        "{err:?}"
    );
    let err = custom_with(TimeToRestore, m(0.0, DAY, WEEK)).unwrap_err();
    assert!(
        matches!(err, BandsError::OutOfRange { field, .. } if field.to_string() == "time_to_restore.elite"),
        "{err:?}"
    );
    let err = custom_with(DeploymentFrequency, m(f64::INFINITY, 1.0, 0.5)).unwrap_err();
    assert!(matches!(err, BandsError::OutOfRange { .. }), "{err:?}");
    let err = custom_with(LeadTime, m(f64::NAN, DAY, WEEK)).unwrap_err();
    assert!(matches!(err, BandsError::OutOfRange { .. }), "{err:?}");
    // Equal edges are allowed: the band between them is empty.
    assert!(custom_with(LeadTime, m(DAY, DAY, DAY)).is_ok());
}

#[test]
fn edges_parse_from_text_in_natural_units() {
    use TierMetric::*;
    let p = |metric, text| parse_edge(metric, Tier::High, text);
    assert_eq!(
        p(DeploymentFrequency, ">= 1/7d"),
        Ok(Edge::inclusive(1.0 / 7.0))
    );
    assert_eq!(p(DeploymentFrequency, ">=1/1d"), Ok(Edge::inclusive(1.0)));
    assert_eq!(p(DeploymentFrequency, "> 2/1d"), Ok(Edge::exclusive(2.0)));
    assert_eq!(p(DeploymentFrequency, "≥ 0.5"), Ok(Edge::inclusive(0.5)));
    assert_eq!(p(DeploymentFrequency, ">= 3/12h"), Ok(Edge::inclusive(6.0)));
    assert_eq!(p(LeadTime, "< 1h"), Ok(Edge::exclusive(HOUR)));
    assert_eq!(p(LeadTime, "<= 7d"), Ok(Edge::inclusive(WEEK)));
    assert_eq!(p(TimeToRestore, " < 30m "), Ok(Edge::exclusive(1800.0)));
    assert_eq!(p(ChangeFailureRate, "<= 0.15"), Ok(Edge::inclusive(0.15)));
    assert_eq!(p(ChangeFailureRate, "< 15%"), Ok(Edge::exclusive(0.15)));
    for (metric, bad) in [
        (LeadTime, "> 1h"),
        (LeadTime, "1h"),
        (LeadTime, "< soon"),
        (DeploymentFrequency, "< 1/1d"),
        (DeploymentFrequency, ">= x/1d"),
        (DeploymentFrequency, ">= 1/often"),
        (ChangeFailureRate, "<= a%"),
    ] {
        let err = p(metric, bad).unwrap_err();
        assert!(
            matches!(&err, BandsError::Syntax { field, text, .. }
                if field.metric == metric && field.tier == Tier::High && text == bad),
            "{bad}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}.high: ", metric.as_str())),
            "{err}"
        );
    }
}
