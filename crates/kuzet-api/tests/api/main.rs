//! The API against a real database and a real sealed store, called in process through the router.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod accounts;
mod audit_trail;
mod contacts;
mod contract;
mod crises;
mod harness;
mod incidents;
mod intel;
mod isolation;
mod pages;
mod rbac;
mod rules;
