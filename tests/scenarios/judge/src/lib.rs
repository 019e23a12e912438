//! The one judge of the cross-language scenarios (tests/scenarios/README.md).
//!
//! A scenario file is read here once, strictly ([`plan`]); each runner (rust, c, dotnet) only
//! executes the plan against its language's API and reports what it observed, one JSON line per
//! step; the judge compares the observations with the expectations ([`expect`], [`judge`]). So
//! an expectation, a time format or a filter rule is written once, and a bug in the judge is
//! caught by its own tests rather than hidden from three runners at once.

pub mod corpus;
pub mod expect;
pub mod fields;
pub mod judge;
pub mod plan;
pub mod time;

#[cfg(test)]
mod tests;
