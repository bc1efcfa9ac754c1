//! Reports: the self-contained HTML report (`report.html`) and the
//! comparison of two runs.
//!
//! Data preparation and presentation are kept apart: [`build`] turns the
//! stored results ([`ReportInputs`]) into a plain serializable
//! [`ReportData`], and [`html`] renders it with the tera templates of the
//! top-level `reports/` folder (compiled into the binary). [`compare`] does
//! the same for `rdpbench compare`, with terminal and Markdown renderers.

pub mod build;
pub mod chart;
pub mod compare;
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
