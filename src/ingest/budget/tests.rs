use super::*;

#[test]
fn levels_follow_the_total_at_90_and_100_percent() {
    let b = StateBudget::new(1000);
    assert_eq!(b.level(), BudgetLevel::Ok);
    b.set(&[(Component::AdoptionSketches, 800), (Component::Deploys, 99)]);
    assert_eq!(b.level(), BudgetLevel::Ok);
    b.set(&[(Component::Deploys, 100)]);
    assert_eq!(b.level(), BudgetLevel::NoNewFeatures, "900 of 1000");
    b.set(&[(Component::AdoptionCounts, 100)]);
    assert_eq!(b.level(), BudgetLevel::Full, "1000 of 1000");
    b.set(&[(Component::AdoptionSketches, 0)]);
    assert_eq!(b.level(), BudgetLevel::Ok);
    assert_eq!(b.total(), 200);
}

#[test]
fn both_label_tables_export_as_labels() {
    let b = StateBudget::new(1 << 30);
    b.set(&[(Component::DoraLabels, 10), (Component::FeatureLabels, 5)]);
    let labels: Vec<(&str, usize)> = b.by_label();
    assert!(labels.contains(&("labels", 15)), "{labels:?}");
    // deploys, incidents, labels, three adoption parts, work items,
    // satisfaction, pushes.
    assert_eq!(labels.len(), 9);
}
