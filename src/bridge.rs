//! `valuepulse bridge`: webhooks from the tools teams already run, verified
//! and mapped to native v1 events (issue 18, in progress).
//!
//! | module | job |
//! |---|---|
//! | [`verify`] | each source's signature scheme, on the raw bytes, in constant time |
//! | [`map`] | what a delivery becomes: native v1 events, the rules' lookups, forge timestamps |
//! | [`github`] | GitHub's `deployment_status`, `workflow_run` (deploys), `push` (changes) and labelled `issues` (incidents) as native v1 |
//! | [`gitlab`] | GitLab's Deployment, Push and Issue hooks (issues of type Incident or labelled) as native v1 |
//! | [`pagerduty`] | PagerDuty v3 `incident.triggered`, `.resolved` and `.reopened` as native v1 incidents |

pub mod github;
pub mod gitlab;
pub mod map;
pub mod pagerduty;
pub mod verify;
