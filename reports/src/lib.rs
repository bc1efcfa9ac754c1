//! # rdpbench-reports: every output format, from stored results
//!
//! The top layer below the CLI. Each result type of `rdpbench-schema` is
//! rendered by small exporters behind one trait, [`Exporter`]; the CLI hands
//! what they render to the store (`rdpbench-store`), which names and writes
//! every file. The HTML report ([`html`]) and the comparison of two runs
//! ([`compare`]) read only what a results folder's `run.json` vouches for.
//!
//! | result | module | files |
//! |---|---|---|
//! | `CheckRun` | [`check`] | `check.json`, `check.csv`, `check.md`, `check.junit.xml` (+ the terminal summary) |
//! | `SweepSummary` | [`train`] | `saes/train.json`, `saes/train.csv` |
//! | `RdpReport` | [`rdp`] | `rdp.json`, `rdp_curves.csv`, `rdp_pgt_vs_q.csv` |
//! | `ValidityRun` | [`validity`] | `validity.json`, `validity.csv`, `validity.md` |
//! | `BenchRun` | [`bench`] | `bench.json`, `bench.csv`, `bench.md` (and under `real-bench/`) |
//! | `RealRun` | [`real`] | `real.json`, `real.csv`, `real.md` |
//! | `EvalRun` | [`eval`] | `eval.json`, `eval.csv` (+ the terminal table) |
//! | all of them | [`html`] | `report.html` (tera templates in `reports/templates/`) |
#![forbid(unsafe_code)]

pub mod bench;
pub mod check;
pub mod compare;
pub mod eval;
pub mod game;
pub mod html;
mod json;
pub mod planted;
pub mod rdp;
pub mod real;
pub mod train;
pub mod validity;

pub use json::Json;
use rdpbench_store::ResultFile;

/// Renders one result type `R` in one format.
pub trait Exporter<R: ?Sized> {
    /// The format's short name: `json`, `csv`, `markdown`, `junit`, `html`, `text`.
    fn format(&self) -> &'static str;
    /// The result file it renders, or `None` for a terminal-only format.
    fn file(&self) -> Option<ResultFile>;
    fn render(&self, run: &R) -> anyhow::Result<String>;
}

/// An exporter that is one rendering function.
#[derive(Debug)]
pub struct FnExporter<R: ?Sized + 'static> {
    format: &'static str,
    file: ResultFile,
    render: fn(&R) -> String,
}

impl<R: ?Sized> FnExporter<R> {
    pub fn new(format: &'static str, file: ResultFile, render: fn(&R) -> String) -> Self {
        Self {
            format,
            file,
            render,
        }
    }
}

impl<R: ?Sized> Exporter<R> for FnExporter<R> {
    fn format(&self) -> &'static str {
        self.format
    }
    fn file(&self) -> Option<ResultFile> {
        Some(self.file)
    }
    fn render(&self, run: &R) -> anyhow::Result<String> {
        Ok((self.render)(run))
    }
}
