//! The CLI's side of the results store: open a results folder (exit 6 when
//! another run holds it), write a result in every format of its exporters
//! as one stage's files, and render the report from what the folder's
//! `run.json` vouches for.

use anyhow::Result;
use rdpbench_reports::Exporter;
use rdpbench_reports::html::{HtmlReport, ReportInputs};
use rdpbench_store::{Stage, StageWriter, Store};
use std::path::{Path, PathBuf};

/// The command line as typed, recorded in `run.json`.
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        *first = "rdpbench".into();
    }
    words.join(" ")
}

/// Opens (creating it if needed) and locks the results folder `dir`.
pub fn open(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir, &command_line())?)
}

/// `--out`, else `[output].dir`.
pub fn results_dir(out: Option<PathBuf>, config: &rdpbench_schema::config::Config) -> PathBuf {
    out.unwrap_or_else(|| config.output.dir.clone())
}

/// Stages `run` in every format of `exporters` (each names its file).
pub fn write_all<R: ?Sized>(
    w: &mut StageWriter<'_>,
    run: &R,
    exporters: &[Box<dyn Exporter<R>>],
) -> Result<()> {
    for e in exporters {
        let file = e
            .file()
            .expect("a stage's exporters each render a result file");
        let text = e.render(run)?;
        // JSON escapes control characters itself; every other format is
        // read by people and passes the one sanitiser.
        let text = if e.format() == "json" {
            std::borrow::Cow::Borrowed(text.as_str())
        } else {
            rdpbench_schema::sanitize::neutralize_text(&text)
        };
        w.write(file, text.as_bytes())?;
    }
    Ok(())
}

/// Runs `body` as `stage` of `store`: its files are committed together
/// when it succeeds; when it fails, the stage is recorded as failed with the
/// error (so no older result of it is vouched for) and the error returned.
pub fn stage<T>(
    store: &mut Store,
    stage: Stage,
    body: impl FnOnce(&mut StageWriter<'_>) -> Result<T>,
) -> Result<T> {
    store.run_stage(stage, body)
}

/// The report stage: `report.html` from what `run.json` vouches for.
pub fn report(store: &mut Store) -> Result<PathBuf> {
    let root = store.root().to_path_buf();
    stage(store, Stage::Report, |w| {
        let inputs = ReportInputs::load(&root)?;
        write_all(w, &inputs, &[Box::new(HtmlReport) as Box<dyn Exporter<_>>])?;
        Ok(())
    })?;
    Ok(root.join(rdpbench_store::ResultFile::ReportHtml.path()))
}
