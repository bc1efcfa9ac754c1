//! `report.html`: the self-contained HTML report of a results folder.
//!
//! Data preparation and presentation are kept apart: [`build`] turns the
//! stored results ([`ReportInputs`]) into a plain serializable
//! [`ReportData`], and [`render`] renders it with the tera templates of
//! `reports/templates/` (compiled into the binary). `crate::compare` does
//! the same for `rdpbench compare`.

pub mod build;
pub mod chart;
pub mod data;
pub mod eval;
pub mod game;
pub mod inputs;
pub mod planted;
pub mod real;
pub mod render;
pub mod runtime;
pub mod toy_sections;
pub mod validity;

pub use build::build;
pub use data::ReportData;
pub use inputs::ReportInputs;
pub use render::HtmlReport;
