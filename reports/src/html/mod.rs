//! `report.html`: the self-contained HTML report of a results folder.
//!
//! Data preparation and presentation are kept apart: [`build`] turns the
//! stored results ([`ReportInputs`]) into a plain serializable
//! [`ReportData`], and [`html`] renders it with the tera templates of the
//! top-level `reports/` folder (compiled into the binary). [`compare`] does
//! the same for `rdpbench compare` (`crate::compare`).

pub mod build;
pub mod chart;
pub mod data;
pub mod html;
pub mod inputs;
pub mod real;
pub mod runtime;
pub mod toy_sections;
pub mod validity;

pub use build::build;
pub use data::ReportData;
pub use html::HtmlReport;
pub use inputs::ReportInputs;
